//! service, schedule, policy and user lists: finding the names the other commands take.

use goalert_client::paging::{self, Page};
use graphql_client::GraphQLQuery;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{
    App,
    cli::{DirectoryKind, ListArgs},
    error::{Error, Result},
    ops::{
        ListPolicies, ListSchedules, ListServices, ListUsers, list_policies, list_schedules, list_services,
        list_users,
    },
    output::Table,
    session::Session,
};

/// GoAlert's lists serve at most 149 items a page.
const PAGE: i64 = 149;

/// One row per item: its fields in column order.
type Row = Map<String, Value>;

fn row(fields: Value) -> Row {
    match fields {
        Value::Object(map) => map,
        _ => unreachable!("rows are built from objects"),
    }
}

pub async fn run(app: &App, kind: DirectoryKind, args: ListArgs) -> Result<()> {
    let session = app.session().await?;
    let rows = list(&session, kind, args.search.as_deref().unwrap_or("")).await?;
    if args.names {
        let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
        return app.out.print(&names, |names, _| {
            names.iter().map(|n| format!("{n}\n")).collect()
        });
    }
    app.out.print(&rows, |rows, paint| {
        if rows.is_empty() {
            return "None found.\n".into();
        }
        let columns = columns(kind);
        let headers: Vec<String> = columns.iter().map(|c| header(c)).collect();
        let mut table = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
        for row in rows {
            table.row(
                columns
                    .iter()
                    .map(|c| match &row[*c] {
                        Value::String(s) => s.clone().into(),
                        Value::Null => "-".into(),
                        other => other.to_string().into(),
                    })
                    .collect(),
            );
        }
        table.render(paint)
    })
}

/// The table's columns; the ID is for scripts (JSON), people read names.
fn columns(kind: DirectoryKind) -> &'static [&'static str] {
    match kind {
        DirectoryKind::Service => &["name", "escalationPolicy", "maintenanceUntil", "description"],
        DirectoryKind::Schedule => &["name", "timeZone", "description"],
        DirectoryKind::Policy => &["name", "description"],
        DirectoryKind::User => &["name", "email", "role"],
    }
}

/// `maintenanceUntil` → `MAINTENANCE UNTIL`.
fn header(field: &str) -> String {
    let mut out = String::new();
    for c in field.chars() {
        if c.is_uppercase() {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
    }
    out
}

/// Every item of one kind whose name matches `search` (GoAlert's search; "" for all).
pub async fn list(session: &Session, kind: DirectoryKind, search: &str) -> Result<Vec<Row>> {
    let search = search.to_owned();
    match kind {
        DirectoryKind::Service => {
            let variables = |first, after| list_services::Variables {
                search: search.clone(),
                first,
                after,
            };
            every::<ListServices, _>(session, variables, |data| {
                let page = data.services;
                let rows = page.nodes.into_iter().map(|s| {
                    row(json!({
                        "name": s.name,
                        "id": s.id,
                        "escalationPolicy": s.escalation_policy.map(|p| p.name),
                        "maintenanceUntil": s.maintenance_expires_at,
                        "description": first_line(&s.description),
                    }))
                });
                (
                    rows.collect(),
                    page.page_info.end_cursor,
                    page.page_info.has_next_page,
                )
            })
            .await
        }
        DirectoryKind::Schedule => {
            let variables = |first, after| list_schedules::Variables {
                search: search.clone(),
                first,
                after,
            };
            every::<ListSchedules, _>(session, variables, |data| {
                let page = data.schedules;
                let rows = page.nodes.into_iter().map(|s| {
                    row(json!({
                        "name": s.name,
                        "id": s.id,
                        "timeZone": s.time_zone,
                        "description": first_line(&s.description),
                    }))
                });
                (
                    rows.collect(),
                    page.page_info.end_cursor,
                    page.page_info.has_next_page,
                )
            })
            .await
        }
        DirectoryKind::Policy => {
            let variables = |first, after| list_policies::Variables {
                search: search.clone(),
                first,
                after,
            };
            every::<ListPolicies, _>(session, variables, |data| {
                let page = data.escalation_policies;
                let rows = page.nodes.into_iter().map(|p| {
                    row(json!({
                        "name": p.name,
                        "id": p.id,
                        "description": first_line(&p.description),
                    }))
                });
                (
                    rows.collect(),
                    page.page_info.end_cursor,
                    page.page_info.has_next_page,
                )
            })
            .await
        }
        DirectoryKind::User => {
            let variables = |first, after| list_users::Variables {
                search: search.clone(),
                first,
                after,
            };
            every::<ListUsers, _>(session, variables, |data| {
                let page = data.users;
                let rows = page.nodes.into_iter().map(|u| {
                    row(json!({
                        "name": u.name,
                        "id": u.id,
                        "email": u.email,
                        "role": format!("{:?}", u.role).to_lowercase(),
                    }))
                });
                (
                    rows.collect(),
                    page.page_info.end_cursor,
                    page.page_info.has_next_page,
                )
            })
            .await
        }
    }
}

/// Every page of the list query `Q`: `variables` for a page size and cursor, `rows` for a page's
/// rows with its end cursor and whether more follow.
async fn every<Q, V>(
    session: &Session,
    variables: V,
    rows: impl Fn(Q::ResponseData) -> (Vec<Row>, Option<String>, bool),
) -> Result<Vec<Row>>
where
    Q: GraphQLQuery,
    Q::Variables: Serialize,
    V: Fn(i64, String) -> Q::Variables,
{
    let (variables, rows) = (&variables, &rows);
    paging::shrinking::<_, Error, _, _>(PAGE, |after, first| async move {
        let (items, end_cursor, more) = rows(
            session
                .run::<Q>(variables(first, after.unwrap_or_default()))
                .await?,
        );
        Ok(Page {
            next: paging::next(end_cursor, more),
            items,
        })
    })
    .await
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_column_headers() {
        assert_eq!(header("maintenanceUntil"), "MAINTENANCE UNTIL");
        assert_eq!(header("name"), "NAME");
    }
}
