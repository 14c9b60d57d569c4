// The deep linking reply: post the signed form back to the platform as soon as the page
// loads (the page's policy allows no inline script).
document.getElementById("return")?.submit();
