"""Running studyhall as several processes: the servers it needs from Debian's packages
(:mod:`deploy.local`) and the whole topology on one machine (:mod:`deploy.cluster`)."""
