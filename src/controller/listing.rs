//! GoAlert's objects, read in bulk: one listing per kind, a few pages per resync period instead
//! of one read per object, and the answer to "which object has this name" without a search.
//!
//! A listing only ever stands in for a read the operator could make itself: an object it wrote
//! is forgotten at once (so the next look reads it again), an object the listing lacks is read by
//! ID, and a listing older than the caller allows is made again. Changes made by hand in GoAlert
//! are therefore seen within the period the caller asks for, as before; only the cost changed.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::{Context, Provisioned, Result};

/// One listing per kind, made on first use.
#[derive(Default)]
pub struct Listings(Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl Listings {
    fn of<K: Provisioned>(&self) -> Arc<Listing<K::Observed>> {
        let mut listings = self.0.lock().expect("not poisoned");
        let listing = listings
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Arc::new(Listing::<K::Observed>::default()));
        Arc::clone(listing)
            .downcast()
            .expect("a listing holds its own kind's objects")
    }

    /// The object as GoAlert showed it at most `max_age` ago: from the listing, listing the
    /// kind again when the listing is older; read by ID when the listing lacks it.
    pub async fn observe<K: Provisioned>(
        &self,
        ctx: &Context,
        id: &str,
        max_age: Duration,
    ) -> Result<Option<K::Observed>> {
        let listing = self.of::<K>();
        let mut state = listing.state.lock().await;
        if !state.is_fresh(Instant::now(), max_age) {
            state.replace(K::list(ctx).await?, Instant::now());
        }
        if let Some(observed) = state.objects.get(id) {
            return Ok(Some(observed.clone()));
        }
        drop(state);
        self.observe_now::<K>(ctx, id).await
    }

    /// The object as GoAlert shows it now, read by ID and kept in the listing.
    pub async fn observe_now<K: Provisioned>(&self, ctx: &Context, id: &str) -> Result<Option<K::Observed>> {
        let observed = K::observe(ctx, id).await?;
        self.record::<K>(id, observed.clone()).await;
        Ok(observed)
    }

    /// Keeps what GoAlert just showed of `id` (`None`: it has no such object).
    pub async fn record<K: Provisioned>(&self, id: &str, observed: Option<K::Observed>) {
        let listing = self.of::<K>();
        let mut state = listing.state.lock().await;
        match observed {
            Some(observed) => state.objects.insert(id.to_owned(), observed),
            None => state.objects.remove(id),
        };
    }

    /// The ID of the object whose unique key is `key`, from a listing at most `max_age` old.
    /// A kind whose key GoAlert does not keep unique (users' e-mails) confirms a lack by
    /// searching: only there could an object made since the listing be duplicated.
    pub async fn find<K: Provisioned>(
        &self,
        ctx: &Context,
        key: &str,
        max_age: Duration,
    ) -> Result<Option<String>> {
        let listing = self.of::<K>();
        let mut state = listing.state.lock().await;
        if !state.is_fresh(Instant::now(), max_age) {
            state.replace(K::list(ctx).await?, Instant::now());
        }
        let mut found = state
            .objects
            .iter()
            .filter(|(_, observed)| K::key_of(observed).eq_ignore_ascii_case(key))
            .map(|(id, _)| id.clone());
        match (found.next(), found.next()) {
            (Some(id), None) => Ok(Some(id)),
            // None, or several (which the search reports as the user's problem).
            _ if !K::KEY_KEPT_UNIQUE => {
                drop(state);
                K::find(ctx, key).await
            }
            (first, _) => Ok(first),
        }
    }

    /// Forgets what the listing knew of `id`: the operator just changed it, so the next look
    /// reads it again.
    pub async fn forget<K: Provisioned>(&self, id: &str) {
        self.of::<K>().state.lock().await.objects.remove(id);
    }

    /// Makes the next look list the kind again: GoAlert holds an object the listing missed.
    pub async fn expire<K: Provisioned>(&self) {
        self.of::<K>().state.lock().await.listed_at = None;
    }
}

/// The objects of one kind, by GoAlert ID. The async lock is held while listing, so reconciles
/// that need the listing at the same moment wait for one listing rather than making several,
/// and an object forgotten meanwhile is forgotten after the listing, not overwritten by it.
struct Listing<T> {
    state: tokio::sync::Mutex<State<T>>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            state: tokio::sync::Mutex::new(State {
                objects: HashMap::new(),
                listed_at: None,
            }),
        }
    }
}

struct State<T> {
    objects: HashMap<String, T>,
    listed_at: Option<Instant>,
}

impl<T> State<T> {
    fn is_fresh(&self, now: Instant, max_age: Duration) -> bool {
        self.listed_at
            .is_some_and(|listed| now.saturating_duration_since(listed) < max_age)
    }

    fn replace(&mut self, objects: Vec<(String, T)>, now: Instant) {
        self.objects = objects.into_iter().collect();
        self.listed_at = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_fresh_only_within_the_age_asked_for() {
        let start = Instant::now();
        let mut state = State::<()> {
            objects: HashMap::new(),
            listed_at: None,
        };
        assert!(!state.is_fresh(start, Duration::from_secs(60)), "never listed");
        state.replace(vec![("a".into(), ())], start);
        assert!(state.is_fresh(start + Duration::from_secs(59), Duration::from_secs(60)));
        assert!(!state.is_fresh(start + Duration::from_secs(60), Duration::from_secs(60)));
        assert!(
            !state.is_fresh(start + Duration::from_secs(5), Duration::from_secs(3)),
            "an object with a shorter resync period asks for a younger listing"
        );
    }

    #[test]
    fn listing_again_drops_objects_gone_from_goalert() {
        let start = Instant::now();
        let mut state = State {
            objects: HashMap::new(),
            listed_at: None,
        };
        state.replace(vec![("a".into(), 1), ("b".into(), 2)], start);
        state.replace(vec![("b".into(), 3)], start + Duration::from_secs(1));
        assert_eq!(state.objects.get("a"), None);
        assert_eq!(state.objects.get("b"), Some(&3));
    }
}
