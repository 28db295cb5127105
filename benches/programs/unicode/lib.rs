//! Text: Unicode normalisation (NFD, NFC, NFKC) and segmentation into
//! words and grapheme clusters of 256 KiB of mixed-script text.
use common::{check, Digest};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

common::program!(String, || common::text(256 << 10, 19), |text: &String| {
    let nfd: String = text.nfd().collect();
    let nfc: String = nfd.nfc().collect();
    check(nfc == *text, "NFC(NFD(x)) == x for composed input");
    check(nfd.len() > text.len(), "decomposition grows the accented letters");
    let nfkc: String = text.nfkc().collect();
    let words = text.unicode_words().count() as u64;
    let graphemes = nfd.graphemes(true).count() as u64;
    check(graphemes == text.chars().count() as u64, "one grapheme per composed character");
    Digest::default().bytes(nfkc.as_bytes()).u64(words).u64(graphemes).finish()
});
