//! Kubernetes names for exported objects: readable, derived from GoAlert's names, and the same
//! every time the same GoAlert is exported.

use std::collections::BTreeSet;

/// The longest metadata.name an export gives: a DNS-1123 label, so that names derived from it
/// (the service's Secret `<name>-goalert`) stay valid too.
pub const MAX_NAME: usize = 63;

/// `text` as a DNS-1123 label: ASCII letters and digits lower-cased, every run of other
/// characters one `-`, no `-` at either end. Empty when `text` has no ASCII letter or digit.
pub fn dns_label(text: &str) -> String {
    let mut label = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            label.push(c.to_ascii_lowercase());
        } else if !label.is_empty() && !label.ends_with('-') {
            label.push('-');
        }
    }
    label.truncate(label.trim_end_matches('-').len());
    label
}

/// Hands out distinct names: the wanted one, or when an earlier object took it, the wanted one
/// with `-2`, `-3`, ... appended. Objects are offered in a fixed order (sorted by their GoAlert
/// name or e-mail), so collisions resolve the same way on every export.
pub struct Names {
    taken: BTreeSet<String>,
    max_len: usize,
    fallback: &'static str,
}

impl Names {
    /// `fallback` stands in for a wanted name that is empty.
    pub fn new(max_len: usize, fallback: &'static str) -> Self {
        Self {
            taken: BTreeSet::new(),
            max_len,
            fallback,
        }
    }

    pub fn claim(&mut self, wanted: &str) -> String {
        let base = if wanted.is_empty() { self.fallback } else { wanted };
        (1..)
            .map(|n| {
                let suffix = if n == 1 { String::new() } else { format!("-{n}") };
                let kept: String = base.chars().take(self.max_len - suffix.len()).collect();
                format!("{}{suffix}", kept.trim_end_matches('-'))
            })
            .find(|candidate| self.taken.insert(candidate.clone()))
            .expect("some suffix is free")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_like_the_goalert_name() {
        assert_eq!(dns_label("Checkout API (Production)"), "checkout-api-production");
        assert_eq!(dns_label("  --Zoë's  rota--"), "zo-s-rota");
        assert_eq!(dns_label("alice.smith"), "alice-smith");
        assert_eq!(dns_label("'''"), "");
    }

    #[test]
    fn collisions_get_numbered_suffixes_within_the_length_limit() {
        let mut names = Names::new(10, "user");
        assert_eq!(names.claim("platform"), "platform");
        assert_eq!(names.claim("platform"), "platform-2");
        assert_eq!(names.claim("platform-2"), "platform-3");
        assert_eq!(names.claim(""), "user");
        assert_eq!(names.claim("abcdefghijkl"), "abcdefghij");
        assert_eq!(names.claim("abcdefghijkl"), "abcdefgh-2");
        assert_eq!(names.claim("abcdefg-xyz"), "abcdefg-xy");
        assert_eq!(
            names.claim("abcdefg-xyz"),
            "abcdefg-2",
            "no '-' doubled at the cut"
        );
    }
}
