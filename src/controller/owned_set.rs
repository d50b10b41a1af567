//! The one rule for a GoAlert object's named parts (a service's integration keys and heartbeat
//! monitors): each part the spec wants is matched with the existing part of the same name
//! (GoAlert compares these names case-insensitively), and an existing part the spec no longer
//! wants is deleted only if this resource made it. Parts made by hand in GoAlert stay. Pure, so
//! the converges that carry it out are tested by its table.

/// Wanted parts with their existing namesakes, and the existing parts to delete.
#[derive(Debug, PartialEq, Eq)]
pub struct OwnedSet<'a, W, E> {
    /// (index in the spec's list, wanted part, existing part of the same name).
    pub wanted: Vec<(usize, &'a W, Option<&'a E>)>,
    /// Existing parts no longer wanted that this resource made.
    pub retired: Vec<&'a E>,
}

/// Matches `wanted` against `existing` by name; `managed` says whether this resource made the
/// existing part of that name (it is listed in the resource's status).
pub fn owned_set<'a, W, E>(
    wanted: &'a [W],
    existing: &'a [E],
    wanted_name: impl Fn(&W) -> &str,
    existing_name: impl Fn(&E) -> &str,
    managed: impl Fn(&str) -> bool,
) -> OwnedSet<'a, W, E> {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    OwnedSet {
        wanted: wanted
            .iter()
            .enumerate()
            .map(|(index, want)| {
                let namesake = existing
                    .iter()
                    .find(|have| same(existing_name(have), wanted_name(want)));
                (index, want, namesake)
            })
            .collect(),
        retired: existing
            .iter()
            .filter(|have| {
                let name = existing_name(have);
                managed(name) && !wanted.iter().any(|want| same(wanted_name(want), name))
            })
            .collect(),
    }
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
                |w| w,
                |e| e,
                |name| managed.iter().any(|m| m.eq_ignore_ascii_case(name)),
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
