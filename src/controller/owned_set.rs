//! The one rule for the parts of a GoAlert object a resource lists (a service's integration keys
//! and heartbeat monitors, a schedule's overrides, a user's contact methods): each wanted part is
//! matched with one existing part it describes, and an existing part nothing matches is deleted
//! only if this resource made it. Parts made by hand in GoAlert stay. Pure, so the converges that
//! carry it out are tested by its table.

/// Wanted parts with their existing matches, and the existing parts to delete.
#[derive(Debug, PartialEq, Eq)]
pub struct OwnedSet<'a, W, E> {
    /// (index in the spec's list, wanted part, the existing part it matched).
    pub wanted: Vec<(usize, &'a W, Option<&'a E>)>,
    /// Existing parts no wanted part matched, that this resource made.
    pub retired: Vec<&'a E>,
}

/// Matches each of `wanted` with the first existing part not matched yet for which `describes`
/// holds; `made` says whether this resource made an existing part (its status lists it).
pub fn owned_set<'a, W, E>(
    wanted: &'a [W],
    existing: &'a [E],
    describes: impl Fn(&W, &E) -> bool,
    made: impl Fn(&E) -> bool,
) -> OwnedSet<'a, W, E> {
    let mut taken = vec![false; existing.len()];
    let wanted = (wanted.iter().enumerate())
        .map(|(index, want)| {
            let found = (0..existing.len()).find(|&i| !taken[i] && describes(want, &existing[i]));
            if let Some(i) = found {
                taken[i] = true;
            }
            (index, want, found.map(|i| &existing[i]))
        })
        .collect();
    let retired = (existing.iter().zip(&taken))
        .filter(|(have, taken)| !**taken && made(have))
        .map(|(have, _)| have)
        .collect();
    OwnedSet { wanted, retired }
}

/// Whether two part names are the same to GoAlert (which compares them case-insensitively).
pub fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_match_by_name_and_only_this_resources_own_are_retired() {
        // (wanted, existing, managed before) → (wanted with namesake, retired)
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            &'a [&'a str],
            &'a [(&'a str, Option<&'a str>)],
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            (&["grafana"], &[], &[], &[("grafana", None)], &[]),
            (
                &["grafana"],
                &["Grafana"],
                &["grafana"],
                &[("grafana", Some("Grafana"))],
                &[],
            ),
            // No longer wanted: deleted if this resource made it, kept if made by hand.
            (&[], &["old", "by-hand"], &["old"], &[], &["old"]),
            // A renamed part: the new one is made, the old one retired.
            (&["new"], &["old"], &["old"], &[("new", None)], &["old"]),
            // Listed as managed but gone from GoAlert: nothing to delete.
            (&["a"], &["a"], &["a", "gone"], &[("a", Some("a"))], &[]),
        ];
        for (wanted, existing, managed, matched, retired) in cases {
            let set = owned_set(
                wanted,
                existing,
                |w, e| same_name(w, e),
                |e| managed.iter().any(|m| same_name(m, e)),
            );
            let got: Vec<(&str, Option<&str>)> =
                set.wanted.iter().map(|(_, w, e)| (**w, e.copied())).collect();
            assert_eq!(got, *matched, "{wanted:?} against {existing:?}");
            let got: Vec<&str> = set.retired.iter().map(|e| **e).collect();
            assert_eq!(
                got, *retired,
                "{wanted:?} against {existing:?}, managed {managed:?}"
            );
        }
    }
}
