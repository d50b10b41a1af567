//! GoAlert's paged searches: finding an object by its unique name, and reading every page.

use std::future::Future;

use super::{Error, Result};

/// One page of items ((id, name) pairs unless said otherwise) and the cursor of the next page,
/// if any.
pub struct Page<T = (String, String)> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// The ID of the object whose name equals `name` ignoring case (GoAlert's uniqueness rule).
/// The search is fuzzy, so every page is checked for the exact name.
pub(super) async fn id_by_name<F, Fut>(name: &str, mut fetch: F) -> Result<Option<String>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page>>,
{
    let mut after = None;
    loop {
        let page = fetch(after).await?;
        if let Some((id, _)) = page.items.into_iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return Ok(Some(id));
        }
        match page.next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(None),
        }
    }
}

/// How many objects a listing of each kind asks for in its first page. GoAlert cancels a request
/// after 100 database calls, and every object's nested fields cost calls (a policy's steps and
/// their targets, a user's contact methods and rules): these sizes stay well under that for
/// organisations like the benchmarks', and a page GoAlert cancels anyway is asked again at half
/// the size ([`shrinking`]).
pub mod first_page {
    pub const USERS: i64 = 20;
    pub const ROTATIONS: i64 = 50;
    pub const SCHEDULES: i64 = 30;
    pub const ESCALATION_POLICIES: i64 = 20;
    pub const SERVICES: i64 = 20;
}

/// Every item of a search whose page size the document fixes, page after page.
pub async fn all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    // A fixed size has nothing to shrink to.
    shrinking(1, |after, _| fetch(after)).await
}

/// Every item of a listing, in pages of `first` items; a page GoAlert cancels for costing more
/// than its limit of database calls is asked for again with half as many, down to one. `fetch`
/// may fail with an error of its own (gctl's), which says whether it is that cancellation.
pub async fn shrinking<T, E, F, Fut>(mut first: i64, mut fetch: F) -> Result<Vec<T>, E>
where
    E: TooCostly,
    F: FnMut(Option<String>, i64) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        match fetch(after.clone(), first).await {
            Ok(page) => {
                items.extend(page.items);
                match page.next {
                    Some(cursor) => after = Some(cursor),
                    None => return Ok(items),
                }
            }
            Err(error) if error.is_too_costly() && first > 1 => first /= 2,
            Err(error) => return Err(error),
        }
    }
}

/// Whether an error is GoAlert cancelling a request after its limit of database calls.
pub trait TooCostly {
    fn is_too_costly(&self) -> bool;
}

impl TooCostly for Error {
    fn is_too_costly(&self) -> bool {
        matches!(self, Error::TooCostly { .. })
    }
}

/// The cursor of the next page, from a connection's `pageInfo`.
pub fn next(end_cursor: Option<String>, has_next_page: bool) -> Option<String> {
    end_cursor.filter(|_| has_next_page)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[tokio::test]
    async fn a_page_too_costly_for_goalert_is_asked_again_smaller() {
        // GoAlert would cancel any page of more than 3 items; 7 items in all.
        let asked = RefCell::new(Vec::new());
        let items = shrinking(20, |after: Option<String>, first| {
            asked.borrow_mut().push(first);
            let start: usize = after.map(|a| a.parse().unwrap()).unwrap_or(0);
            async move {
                if first > 3 {
                    return Err(Error::TooCostly {
                        operation: "AllEscalationPolicies",
                        message: "external call limit reached".into(),
                    });
                }
                let end = (start + first as usize).min(7);
                Ok(Page {
                    items: (start..end).collect(),
                    next: (end < 7).then(|| end.to_string()),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(items, (0..7).collect::<Vec<_>>());
        assert_eq!(
            *asked.borrow(),
            [20, 10, 5, 2, 2, 2, 2],
            "halved until a page passes, then kept"
        );
    }

    #[tokio::test]
    async fn a_single_item_too_costly_is_the_error() {
        let result = shrinking::<(), Error, _, _>(4, |_, _| async {
            Err(Error::TooCostly {
                operation: "AllUsers",
                message: "external call limit reached".into(),
            })
        })
        .await;
        assert!(matches!(result, Err(Error::TooCostly { .. })));
    }
}
