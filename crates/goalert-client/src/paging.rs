//! GoAlert's paged searches: finding an object by its unique name, and reading every page.

use std::future::Future;

use super::Result;

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

/// Every item of a search, page after page.
pub async fn all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after).await?;
        items.extend(page.items);
        match page.next {
            Some(cursor) => after = Some(cursor),
            None => return Ok(items),
        }
    }
}
