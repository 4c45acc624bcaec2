//! `adsync store copy`: moves every record of one store into another (sled to PostgreSQL,
//! when one daemon becomes a cluster), then reads the copy back and compares.
//!
//! Secrets are opened with the source's key and sealed again with the target's, so the copy
//! is right whichever key each was opened with.

use chrono::{DateTime, Utc};

use super::{
    decode, oauth_context, token_context, Backend, Gap, Keyed, PendingState, RunRecord, Store, StoreError, Timed,
};

/// How many records of each kind were copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CopyCounts {
    /// Connection states.
    pub connections: usize,
    /// Token sets.
    pub tokens: usize,
    /// Query scheduling states.
    pub query_states: usize,
    /// Sent-notification records.
    pub notifications: usize,
    /// Run records.
    pub runs: usize,
    /// Gaps.
    pub gaps: usize,
    /// Pending authorizations.
    pub pending_states: usize,
}

/// Why a copy was refused or does not match its source.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading or writing failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The target holds records already: a copy would mix two stores.
    #[error("the target store is not empty (it has {0}): copy into a new database")]
    TargetNotEmpty(&'static str),
    /// The copy read back differs from the source.
    #[error("the copy differs from the source in its {0}; the target is incomplete, do not use it")]
    Mismatch(&'static str),
}

/// Every record, with secrets opened: what two stores holding the same state agree on.
#[derive(Debug, PartialEq, Eq)]
struct Contents {
    /// Keyed records in [`KEYED`] order, sorted by key; tokens opened.
    keyed: Vec<Vec<(String, Vec<u8>)>>,
    runs: Vec<Vec<u8>>,
    gaps: Vec<Vec<u8>>,
    /// Pending authorizations, opened.
    pending: Vec<(String, Vec<u8>)>,
}

const KEYED: [Keyed; 5] = [
    Keyed::Connection,
    Keyed::Token,
    Keyed::QueryState,
    Keyed::Notification,
    Keyed::OauthOutcome,
];

impl Store {
    /// Copies every record into the empty store `target`, then checks the copy.
    pub async fn copy_to(&self, target: &Store) -> Result<CopyCounts, CopyError> {
        if !on_backend!(target, entries(Keyed::Connection))?.is_empty() || !on_backend!(target, all_runs())?.is_empty()
        {
            return Err(CopyError::TargetNotEmpty("connections or runs"));
        }
        let source = self.contents().await?;
        for (kind, entries) in KEYED.iter().zip(&source.keyed) {
            for (key, value) in entries {
                let value = match kind {
                    Keyed::Token => target.cipher.seal(&token_context(key), value),
                    _ => value.clone(),
                };
                on_backend!(target, put(*kind, key, value))?;
            }
        }
        for value in &source.runs {
            let run: RunRecord = decode(Timed::Run.name(), "", value)?;
            on_backend!(target, push_run(&run.query, run.started, value.clone()))?;
        }
        for value in &source.gaps {
            let gap: Gap = decode(Timed::Gap.name(), "", value)?;
            on_backend!(target, put_gap(&gap.query, gap.fire_time, value.clone(), false))?;
        }
        for (state, plain) in &source.pending {
            let pending: PendingState = decode(super::OAUTH_STATES, state, plain)?;
            target.put_oauth_state(state, &pending).await?;
        }
        target.flush().await?;
        if target.contents().await? != source {
            return Err(CopyError::Mismatch(source.first_difference(&target.contents().await?)));
        }
        Ok(CopyCounts {
            connections: source.keyed[0].len(),
            tokens: source.keyed[1].len(),
            query_states: source.keyed[2].len(),
            notifications: source.keyed[3].len(),
            runs: source.runs.len(),
            gaps: source.gaps.len(),
            pending_states: source.pending.len(),
        })
    }

    async fn contents(&self) -> Result<Contents, StoreError> {
        let mut keyed = Vec::new();
        for kind in KEYED {
            let mut entries = on_backend!(self, entries(kind))?;
            if let Keyed::Token = kind {
                for (key, value) in &mut entries {
                    *value = self.cipher.open(&token_context(key), value)?;
                }
            }
            entries.sort();
            keyed.push(entries);
        }
        let mut pending = on_backend!(self, oauth_entries())?;
        for (state, value) in &mut pending {
            *value = self.cipher.open(&oauth_context(state), value)?;
        }
        pending.sort();
        Ok(Contents {
            keyed,
            runs: by_time::<RunRecord>(on_backend!(self, all_runs())?, |r| (r.query.clone(), r.started))?,
            gaps: by_time::<Gap>(on_backend!(self, all_gaps())?, |g| (g.query.clone(), g.fire_time))?,
            pending,
        })
    }
}

impl Contents {
    fn first_difference(&self, other: &Contents) -> &'static str {
        if let Some(i) = (0..KEYED.len()).find(|&i| self.keyed[i] != other.keyed[i]) {
            return KEYED[i].name();
        }
        if self.runs != other.runs {
            "runs"
        } else if self.gaps != other.gaps {
            "gaps"
        } else {
            "pending authorizations"
        }
    }
}

/// The values of `items`, ordered by query and instant (the backends order keys differently).
fn by_time<T: serde::de::DeserializeOwned>(
    items: Vec<(String, Vec<u8>)>,
    order: impl Fn(&T) -> (String, DateTime<Utc>),
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut keyed = items
        .into_iter()
        .map(|(key, value)| Ok((order(&decode::<T>("records", &key, &value)?), value)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    keyed.sort();
    Ok(keyed.into_iter().map(|(_, value)| value).collect())
}
