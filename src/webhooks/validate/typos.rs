//! Telling a reference to a resource not created yet from a typo.
//!
//! A folder applied in one pass (kubectl, Argo CD, Flux) creates objects before the ones they
//! reference, so a missing name is normal and admitted. It is refused only when it is almost
//! certainly a typo: a resource of the referenced kind in the namespace has a name one edit
//! away (a character added, dropped, replaced, or two neighbours swapped), and that edit is not
//! of a digit (`alice-2` next to `alice-1` is a sibling, not a typo).

/// The existing name `wanted` was most likely meant to be, if any.
pub fn did_you_mean<'a>(wanted: &str, existing: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    existing
        .into_iter()
        .filter(|name| *name != wanted)
        .find(|name| one_edit_apart(wanted, name))
}

/// Whether `a` becomes `b` by one insertion, deletion, substitution or swap of adjacent
/// characters, none of them involving a digit.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let no_digit = |chars: &[char]| !chars.iter().any(char::is_ascii_digit);
    let edited = match (a_mid.len(), b_mid.len()) {
        (0, 1) | (1, 0) | (1, 1) => true,
        (2, 2) => a_mid[0] == b_mid[1] && a_mid[1] == b_mid[0],
        _ => false,
    };
    edited && no_digit(a_mid) && no_digit(b_mid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_away_is_a_typo_and_anything_else_is_not() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            ("primray", &["primary"], Some("primary")),
            ("primry", &["primary"], Some("primary")),
            ("primaryy", &["primary"], Some("primary")),
            ("prinary", &["primary"], Some("primary")),
            (
                "production-on-call",
                &["production-oncall"],
                Some("production-oncall"),
            ),
            (
                "follow-the-sun",
                &["primary", "follow-the-sum"],
                Some("follow-the-sum"),
            ),
            ("secondary", &["primary"], None),
            ("primary", &["primary"], None),
            ("prim", &["primary"], None),
            ("alice-2", &["alice-1"], None),
            ("alice2", &["alice"], None),
            ("team-12", &["team-21"], None),
            ("platform", &[], None),
        ];
        for (wanted, existing, expected) in cases {
            assert_eq!(
                did_you_mean(wanted, existing.iter().copied()),
                *expected,
                "{wanted} among {existing:?}"
            );
        }
    }
}
