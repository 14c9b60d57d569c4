import pytest

from generator.citations import CitationStream, attribute, clean, repeated_from


def test_valid_markers_stay_and_invalid_ones_go():
    text, cited = clean("GANs have two networks [2]. They compete [7][1]. See [0].", 3)
    assert text == "GANs have two networks [2]. They compete [1]. See."
    assert cited == [2, 1]


def test_comma_lists_are_split_into_separate_markers():
    text, cited = clean("Both say so [1, 3].", 3)
    assert text == "Both say so [1][3]." and cited == [1, 3]


def test_brackets_that_are_not_markers_are_left_alone():
    text, cited = clean("Index x[i] and the list [a, b] stay.", 2)
    assert text == "Index x[i] and the list [a, b] stay." and cited == []


@pytest.mark.parametrize("split", [1, 2, 3, 5])
def test_the_stream_filter_agrees_with_clean_however_tokens_are_split(split):
    raw = "Attention runs in parallel [1][9]. RNNs do not [2, 8]. Array a[0] [3"
    stream = CitationStream(n_sources=3)
    out = "".join(stream.feed(raw[i:i + split]) for i in range(0, len(raw), split))
    out += stream.flush()
    assert out == "Attention runs in parallel [1]. RNNs do not [2]. Array a[0] [3"
    assert stream.cited == [1, 2]


def test_an_uncited_sentence_is_attributed_to_the_passage_that_supports_it():
    passages = ["The LSTM was proposed by Hochreiter and Schmidhuber in 1997.",
                "GANs pit a generator against a discriminator."]
    text = attribute("Hochreiter and Schmidhuber proposed the LSTM in 1997. It was nice.", passages)
    assert text == "Hochreiter and Schmidhuber proposed the LSTM in 1997 [1]. It was nice."


def test_attribution_leaves_cited_and_unsupported_sentences_alone():
    passages = ["GANs pit a generator against a discriminator."]
    text = "A generator and a discriminator compete [1]. Transformers use attention heads."
    assert attribute(text, passages) == text


def test_an_answer_with_no_supported_sentence_is_not_grounded():
    from generator.citations import grounded

    passages = ["The discriminator is a classifier that tells real samples from fakes."]
    assert grounded("The discriminator tells real samples from fakes [1].", passages)
    assert not grounded("Dropout randomly zeroes activations during training to regularise.",
                        passages)
    assert grounded("Yes.", passages)  # too short to judge is not a reason to withdraw


def test_a_sentence_said_again_word_for_word_marks_where_the_loop_starts():
    text = ("Cats are small furry animals [1]. They purr when content. "
            "Cats are small furry animals [2]. They purr")
    assert text[:repeated_from(text)] == ("Cats are small furry animals [1]. "
                                          "They purr when content. ")


@pytest.mark.parametrize("text", [
    "One two three four five. One two three four five",  # the repeat is not finished yet
    "Short one here. Short one here. A new sentence follows now.",  # under five words
    "A GAN has two networks [1]. A VAE has an encoder and a decoder [2].",
])
def test_no_repeat_is_found_where_none_is_complete(text):
    assert repeated_from(text) is None


def test_attribution_keeps_paragraph_breaks_and_list_lines():
    text = ("A GAN has two parts:\n- a classifier that tells real samples from fakes.\n"
            "- a generator.\n\nThat is all.")
    assert attribute(text, ["a classifier that tells real samples from fakes"]) == (
        "A GAN has two parts:\n- a classifier that tells real samples from fakes [1].\n"
        "- a generator.\n\nThat is all.")
