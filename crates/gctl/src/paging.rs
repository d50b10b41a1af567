//! Reading GoAlert's lists page by page, each page as large as GoAlert's call limit allows.
//!
//! GoAlert cancels a request after 100 database queries, and what a page costs depends on what
//! is asked about each item (a schedule's shifts take about nine queries), so a page that hits
//! the limit is asked again at half the size.

use super::error::{Error, Result};

/// One page: its items and the cursor of the next page, if there is one.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Every item of a list. `fetch(size, after)` reads one page of at most `size` items.
pub async fn all<T>(
    first_size: usize,
    mut fetch: impl AsyncFnMut(usize, String) -> Result<Page<T>>,
) -> Result<Vec<T>> {
    let mut found = Vec::new();
    let mut size = first_size.max(1);
    let mut after = String::new();
    // Every request either moves a page on or halves the page; lists end long before this.
    for _ in 0..100_000 {
        match fetch(size, after.clone()).await {
            Err(error) if is_call_limit(&error) && size > 1 => size /= 2,
            Err(error) => return Err(error),
            Ok(page) => {
                found.extend(page.items);
                match page.next {
                    Some(cursor) => after = cursor,
                    None => return Ok(found),
                }
            }
        }
    }
    Ok(found)
}

/// GoAlert cancelled the request after 100 database queries.
pub fn is_call_limit(error: &Error) -> bool {
    matches!(error, Error::GoAlert(goalert_client::Error::TooCostly { .. }))
}

/// The cursor of the next page, from GoAlert's `pageInfo`.
pub fn next(end_cursor: Option<String>, has_next_page: bool) -> Option<String> {
    end_cursor.filter(|_| has_next_page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_limit() -> Error {
        Error::GoAlert(goalert_client::Error::TooCostly {
            operation: "x",
            message: "Request canceled: external call limit reached for this request. Total calls: 101"
                .into(),
        })
    }

    #[tokio::test]
    async fn a_page_over_the_call_limit_is_asked_again_at_half_the_size() {
        let items: Vec<u32> = (0..25).collect();
        let mut sizes = Vec::new();
        let found = all(16, async |size, after: String| {
            sizes.push(size);
            if size > 5 {
                return Err(call_limit());
            }
            let from: usize = after.parse().unwrap_or(0);
            let to = (from + size).min(items.len());
            Ok(Page {
                items: items[from..to].to_vec(),
                next: (to < items.len()).then(|| to.to_string()),
            })
        })
        .await
        .unwrap();
        assert_eq!(found, items);
        assert_eq!(&sizes[..3], [16, 8, 4]);
    }
}
