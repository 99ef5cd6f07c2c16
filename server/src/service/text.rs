//! Free text that people type and other people read (tag keys and values, notes, token names).
//! Besides control characters, Unicode's format characters (general category Cf) are refused:
//! bidi overrides and isolates (U+202A–202E, U+2066–2069) make a note or a tag read differently
//! from what it says ("Trojan Source"), and zero-width spaces and joiners, the BOM and tag
//! characters hide text in plain sight. Refused with the code point named, never stripped,
//! so what was stored is what was typed.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether no reader would see `c`: a control or a format character.
pub fn is_hidden(c: char) -> bool {
    c.is_control() || c.general_category() == GeneralCategory::Format
}

/// The first character of `text` that no reader would see, other than those in `allowed`.
pub fn hidden_char(text: &str, allowed: &[char]) -> Option<char> {
    text.chars().find(|c| !allowed.contains(c) && is_hidden(*c))
}

/// What to tell the person who typed `c`.
pub fn describe(c: char) -> String {
    if c.is_control() {
        format!("contains the control character U+{:04X}", c as u32)
    } else {
        format!(
            "contains U+{:04X}, an invisible formatting character (such as a bidi override or a zero-width space)",
            c as u32
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_found() {
        for (text, found) in [
            ("plain text, with punctuation!", None),
            ("accents: déjà vu, 日本語, emoji 🎉", None),
            ("line\nbreak", Some('\n')),
            ("bell\u{7}", Some('\u{7}')),
            ("admin\u{202E}gpj.exe", Some('\u{202E}')),
            ("\u{2066}isolate\u{2069}", Some('\u{2066}')),
            ("zero\u{200B}width", Some('\u{200B}')),
            ("joiner\u{200D}", Some('\u{200D}')),
            ("\u{FEFF}bom", Some('\u{FEFF}')),
            ("soft\u{AD}hyphen", Some('\u{AD}')),
            ("tag\u{E0041}chars", Some('\u{E0041}')),
            ("rtl mark\u{200F}", Some('\u{200F}')),
        ] {
            assert_eq!(hidden_char(text, &[]), found, "{text:?}");
        }
        assert_eq!(hidden_char("two\nlines\tand a tab", &['\n', '\t']), None);
        assert_eq!(
            hidden_char("two\nlines\u{202E}", &['\n', '\t']),
            Some('\u{202E}')
        );
    }

    #[test]
    fn the_message_names_the_code_point() {
        assert!(describe('\u{202E}').contains("U+202E"));
        assert!(describe('\u{7}').contains("U+0007"));
    }
}
