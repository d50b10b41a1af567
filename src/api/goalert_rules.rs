//! What GoAlert v0.34.1 accepts, written once: as the patterns the CRDs' schemas use and as Rust
//! checks built from the same patterns, so the export and the CRDs cannot disagree.
//!
//! The rules are those of GoAlert's `validation/validate` package: `LabelKey` and `LabelValue`
//! (service labels). GoAlert counts label lengths in characters (runes), as Kubernetes' schema
//! validation and CEL's `size()` do.

use std::sync::LazyLock;

use regex::Regex;

/// One character Go's `unicode.IsPrint` accepts, other than the space: a letter, mark, number,
/// punctuation or symbol.
macro_rules! printable {
    () => {
        r"[\p{L}\p{M}\p{N}\p{P}\p{S}]"
    };
}

/// GoAlert's `LabelValue` without its length limit: printable characters, single spaces
/// between them, none at either end; at least 3 characters (either three non-spaces, or two
/// around one space).
macro_rules! label_text {
    () => {
        concat!(
            "(",
            printable!(),
            " ",
            printable!(),
            "|",
            printable!(),
            "( ?",
            printable!(),
            "){2,})"
        )
    };
}

/// A label value (3-255 characters); RE2 syntax, as Kubernetes and the `regex` crate read it.
pub const LABEL_VALUE: &str = concat!("^", label_text!(), "$");

/// A label key: a domain-like prefix (dot-separated parts of 3-64 lower-case letters, digits
/// and `-`, not starting with `-`), `/`, and a suffix following the value rules. At most 255
/// characters in all.
pub const LABEL_KEY: &str = concat!(
    r"^[a-z0-9][a-z0-9-]{2,63}(\.[a-z0-9][a-z0-9-]{2,63})*/",
    label_text!(),
    "$"
);

pub const LABEL_MAX_CHARS: usize = 255;

/// The CEL rule every key of a label map must pass.
pub fn label_keys_rule() -> String {
    format!("self.all(k, size(k) <= {LABEL_MAX_CHARS} && k.matches(r'{LABEL_KEY}'))")
}

/// The CEL rule every value of a label map must pass.
pub fn label_values_rule() -> String {
    format!("self.all(k, size(self[k]) <= {LABEL_MAX_CHARS} && self[k].matches(r'{LABEL_VALUE}'))")
}

pub const LABEL_KEYS_MESSAGE: &str = "label keys look like example.com/name: a domain-like prefix (parts of 3-64 \
     lower-case letters, digits and '-'), a slash, and a name of printable characters with single spaces \
     (3-255 characters in all), as GoAlert accepts";
pub const LABEL_VALUES_MESSAGE: &str = "label values are 3-255 printable characters, with single spaces and none at \
     either end, as GoAlert accepts";

static LABEL_KEY_RX: LazyLock<Regex> = LazyLock::new(|| Regex::new(LABEL_KEY).expect("a valid pattern"));
static LABEL_VALUE_RX: LazyLock<Regex> = LazyLock::new(|| Regex::new(LABEL_VALUE).expect("a valid pattern"));

/// Whether GoAlert (and so the GoAlertService CRD) accepts `key` as a label key.
pub fn is_label_key(key: &str) -> bool {
    key.chars().count() <= LABEL_MAX_CHARS && LABEL_KEY_RX.is_match(key)
}

/// Whether GoAlert (and so the GoAlertService CRD) accepts `value` as a label value.
pub fn is_label_value(value: &str) -> bool {
    value.chars().count() <= LABEL_MAX_CHARS && LABEL_VALUE_RX.is_match(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cases from the rules of GoAlert v0.34.1's validate.LabelKey, including the ones its own
    /// tests name.
    #[test]
    fn label_keys_are_what_goalert_accepts() {
        let long_suffix = format!("foo/{}", "x".repeat(251));
        let too_long = format!("foo/{}", "x".repeat(252));
        let cases: &[(&str, bool)] = &[
            ("foo/bar", true),
            ("bin.baz/abc", true),
            ("0123/abc", true),
            ("foo-bar/abc", true),
            ("team.example.com/owner", true),
            ("foo/has a space", true),
            ("foo/a b", true),
            ("foo/with/slash", true),
            ("foo/ünïcödé", true),
            ("foo/@$&*", true),
            (&long_suffix, true),
            ("test", false),
            ("Foo/bar", false),
            ("-test/ok", false),
            ("a/b", false),
            ("foo/ok", false),
            ("foo'/bar", false),
            (" ", false),
            ("", false),
            ("foo /bar", false),
            ("/", false),
            ("//", false),
            ("/foo/", false),
            ("/foo/bar", false),
            ("foo/", false),
            ("ab/bar", false),
            ("example.co/bar", false),
            ("foo/ bar", false),
            ("foo/bar ", false),
            ("foo/bar  baz", false),
            ("foo/tab\there", false),
            ("foo/no\u{a0}break", false),
            (&too_long, false),
        ];
        for (key, accepted) in cases {
            assert_eq!(is_label_key(key), *accepted, "{key:?}");
        }
    }

    /// Cases from the rules of GoAlert v0.34.1's validate.LabelValue (the empty value, which
    /// GoAlert reads as "remove the label", is no value a spec can hold).
    #[test]
    fn label_values_are_what_goalert_accepts() {
        let longest = "x".repeat(255);
        let too_long = "x".repeat(256);
        let cases: &[(&str, bool)] = &[
            ("foo", true),
            ("foo bar", true),
            ("FooBar", true),
            ("foo-bar", true),
            ("foo- 9bar", true),
            ("foo'/bar", true),
            ("@okay", true),
            (r"&n*#9\; wowz@ $ \/yee", true),
            ("a b", true),
            ("日本語", true),
            (&longest, true),
            ("", false),
            ("    ", false),
            (" foo", false),
            ("foo ", false),
            ("fo", false),
            ("-", false),
            ("foo  bar", false),
            ("unprintable\t", false),
            ("unprintable\n", false),
            ("unprintable\u{b}", false),
            ("unprintable\u{c}", false),
            ("unprintable\r", false),
            (&too_long, false),
        ];
        for (value, accepted) in cases {
            assert_eq!(is_label_value(value), *accepted, "{value:?}");
        }
    }

    #[test]
    fn the_cel_rules_quote_the_patterns_raw() {
        assert!(label_keys_rule().contains(r"r'^[a-z0-9]"));
        assert!(
            !LABEL_KEY.contains('\'') && !LABEL_VALUE.contains('\''),
            "the CEL raw strings stay closed"
        );
    }
}
