//! Turning the names people type into GoAlert IDs.

use super::{
    error::{Error, Result},
    ops::{
        FindEscalationPolicies, FindSchedules, FindServices, find_escalation_policies, find_schedules,
        find_services,
    },
    session::Session,
};

/// Something GoAlert knows by ID that people call by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

/// GoAlert's search is fuzzy, so pick the candidate the person meant: an exact ID or name
/// (ignoring case) wins; otherwise a single match; otherwise it is ambiguous.
pub fn pick(what: &str, typed: &str, candidates: Vec<Named>) -> Result<Named> {
    if let Some(exact) = candidates
        .iter()
        .find(|c| c.id == typed || c.name.eq_ignore_ascii_case(typed))
    {
        return Ok(exact.clone());
    }
    match <[Named; 1]>::try_from(candidates) {
        Ok([only]) => Ok(only),
        Err(candidates) if candidates.is_empty() => Err(Error::NotFound {
            what: format!("{what} {typed:?}"),
        }),
        Err(candidates) => Err(Error::Ambiguous {
            what: format!("{what} {typed:?}"),
            candidates: candidates.into_iter().map(|c| c.name).collect(),
        }),
    }
}

pub async fn service(session: &Session, typed: &str) -> Result<Named> {
    let data = session
        .run::<FindServices>(find_services::Variables {
            search: typed.to_owned(),
        })
        .await?;
    let candidates = data
        .services
        .nodes
        .into_iter()
        .map(|s| Named {
            id: s.id,
            name: s.name,
        })
        .collect();
    pick("service", typed, candidates)
}

pub async fn policy(session: &Session, typed: &str) -> Result<Named> {
    let data = session
        .run::<FindEscalationPolicies>(find_escalation_policies::Variables {
            search: typed.to_owned(),
        })
        .await?;
    let candidates = data
        .escalation_policies
        .nodes
        .into_iter()
        .map(|p| Named {
            id: p.id,
            name: p.name,
        })
        .collect();
    pick("escalation policy", typed, candidates)
}

/// Schedules whose name matches `search` ("" for all), every page.
pub async fn schedules(session: &Session, search: &str) -> Result<Vec<Named>> {
    let mut found = Vec::new();
    let mut after = String::new();
    loop {
        let data = session
            .run::<FindSchedules>(find_schedules::Variables {
                search: search.to_owned(),
                after,
            })
            .await?;
        found.extend(data.schedules.nodes.into_iter().map(|s| Named {
            id: s.id,
            name: s.name,
        }));
        match data.schedules.page_info.end_cursor {
            Some(cursor) if data.schedules.page_info.has_next_page => after = cursor,
            _ => return Ok(found),
        }
    }
}

pub async fn user(session: &Session, typed: &str) -> Result<Named> {
    let candidates = crate::directory::list(session, crate::cli::DirectoryKind::User, typed)
        .await?
        .into_iter()
        .map(|u| Named {
            id: u["id"].as_str().unwrap_or_default().to_owned(),
            name: u["name"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    pick("user", typed, candidates)
}

pub async fn schedule(session: &Session, typed: &str) -> Result<Named> {
    pick("schedule", typed, schedules(session, typed).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Named {
        Named {
            id: format!("id-{name}"),
            name: name.into(),
        }
    }

    #[test]
    fn exact_name_beats_fuzzy_matches() {
        let picked = pick("service", "api", vec![named("API"), named("api gateway")]).unwrap();
        assert_eq!(picked.name, "API");
    }

    #[test]
    fn a_single_fuzzy_match_is_taken_and_several_are_ambiguous() {
        assert_eq!(
            pick("service", "pay", vec![named("payments")]).unwrap().name,
            "payments"
        );
        let err = pick("service", "pay", vec![named("payments"), named("payroll")]).unwrap_err();
        assert!(matches!(err, Error::Ambiguous { ref candidates, .. } if candidates.len() == 2));
        assert!(matches!(
            pick("service", "x", vec![]),
            Err(Error::NotFound { .. })
        ));
    }
}
