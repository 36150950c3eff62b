//! People's names per culture, in their own script, each paired with an ASCII transliteration
//! so the generator can derive plausible e-mail addresses and customer ids from them. The lists
//! are data, in `names.txt` (format: [`crate::tables`]).
//!
//! Every native name uses only letters (any script), spaces, `-`, `'` and `.`, the characters
//! contract §1 allows in `delivery.name`; the shared tests prove it over thousands of orders.

use crate::tables::{self, Block};
use std::sync::LazyLock;

/// Given and family names of one culture: `(native, ascii)` pairs.
#[derive(Debug)]
pub(crate) struct Names {
    /// The block's label in `names.txt`, which countries refer to.
    pub culture: &'static str,
    pub given: Vec<(&'static str, &'static str)>,
    pub family: Vec<(&'static str, &'static str)>,
    /// Family name first, without reordering for Western readers (East Asian convention).
    pub family_first: bool,
    /// Between the two parts: a space, or nothing where the script does not separate them.
    pub joiner: &'static str,
}

/// Every culture of `names.txt`, in file order. The file is part of the build and a unit test
/// reads it, so a mistake in it fails the tests, not a run.
static CULTURES: LazyLock<Vec<Names>> = LazyLock::new(|| {
    tables::blocks(include_str!("names.txt"))
        .and_then(|blocks| blocks.iter().map(Names::from_block).collect())
        .unwrap_or_else(|err| panic!("names.txt: {err}"))
});

/// The names of `culture` (a block label of `names.txt`).
pub(crate) fn culture(culture: &str) -> Option<&'static Names> {
    CULTURES.iter().find(|names| names.culture == culture)
}

impl Names {
    fn from_block(block: &Block) -> Result<Names, String> {
        let unknown =
            |key: &str, value: &str| format!("[{}]: unknown {key} `{value}`", block.label);
        let family_first = match block.one("order")? {
            "given-first" => false,
            "family-first" => true,
            other => return Err(unknown("order", other)),
        };
        let joiner = match block.one("joiner")? {
            "space" => " ",
            "none" => "",
            other => return Err(unknown("joiner", other)),
        };
        Ok(Names {
            culture: block.label,
            given: block.pairs("given")?,
            family: block.pairs("family")?,
            family_first,
            joiner,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_culture_is_read() {
        assert_eq!(CULTURES.len(), 15);
        let korean = culture("korean").expect("korean");
        assert!(korean.family_first);
        assert_eq!(korean.joiner, "");
        assert_eq!(korean.family[0], ("김", "kim"));
    }
}
