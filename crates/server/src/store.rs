//! API keys and token usage, kept in one SQLite file.
//!
//! Keys are random (192 bits from the operating system's generator), shown once when created
//! and stored only as their SHA-256. Usage is counted per key per UTC day; every request's
//! usage is committed (WAL, `synchronous = FULL`) before the response that reports it is
//! sent, so a server killed at any moment has lost nothing it acknowledged.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The start of every key ferrocodex makes, so that a leaked one is recognisable.
pub const KEY_PREFIX: &str = "fcx-";

/// File name of the store in the data directory.
pub const STORE_FILE: &str = "ferrocodex.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the key store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the folder {path} for the key store: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key store failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot read random bytes from the operating system: {0}")]
    Random(String),
    #[error("no API key has the id {0}; `ferrocodex keys list` shows the ids")]
    NoSuchKey(i64),
}

/// What is known about a key (never the key itself).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub id: i64,
    pub name: String,
    /// The first characters of the key, enough to tell keys apart.
    pub prefix: String,
    /// Requests per minute allowed (None: unlimited).
    pub rpm: Option<u64>,
    /// Tokens (prompt + completion) per minute allowed (None: unlimited).
    pub tpm: Option<u64>,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Usage of one key on one UTC day.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UsageRow {
    /// 0 stands for requests made while no key was required.
    pub key_id: i64,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The key and usage store. Reads and writes use separate connections so that a commit
/// waiting for the disk never holds up authentication.
pub struct Store {
    path: PathBuf,
    write: Mutex<Connection>,
    read: Mutex<Connection>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let open = |e| StoreError::Open {
        path: path.to_path_buf(),
        source: e,
    };
    let conn = Connection::open(path).map_err(open)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(open)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open)?;
    Ok(conn)
}

impl Store {
    /// Opens (creating when missing) the store at `path`, and its folder.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Folder {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        let write = open_connection(path)?;
        write
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS api_keys (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    rpm INTEGER,
                    tpm INTEGER,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                CREATE TABLE IF NOT EXISTS usage (
                    key_id INTEGER NOT NULL,
                    day TEXT NOT NULL,
                    requests INTEGER NOT NULL DEFAULT 0,
                    prompt_tokens INTEGER NOT NULL DEFAULT 0,
                    completion_tokens INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (key_id, day)
                );",
            )
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                source: e,
            })?;
        let read = open_connection(path)?;
        Ok(Store {
            path: path.to_path_buf(),
            write: Mutex::new(write),
            read: Mutex::new(read),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.write.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.read.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a new key; returns its record and the key itself, which is not stored and
    /// cannot be shown again.
    pub fn create_key(
        &self,
        name: &str,
        rpm: Option<u64>,
        tpm: Option<u64>,
    ) -> Result<(KeyInfo, String), StoreError> {
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
        let secret = format!("{KEY_PREFIX}{}", hex(&bytes));
        let prefix: String = secret.chars().take(KEY_PREFIX.len() + 6).collect();
        let now = unix_now();
        let conn = self.writer();
        conn.execute(
            "INSERT INTO api_keys (name, prefix, hash, rpm, tpm, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, prefix, hash_key(&secret), rpm.map(clamp_i64), tpm.map(clamp_i64), now],
        )?;
        let id = conn.last_insert_rowid();
        Ok((
            KeyInfo {
                id,
                name: name.to_string(),
                prefix,
                rpm,
                tpm,
                created_at: now,
                revoked_at: None,
            },
            secret,
        ))
    }

    /// Every key, revoked ones included, oldest first.
    pub fn list_keys(&self) -> Result<Vec<KeyInfo>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT id, name, prefix, rpm, tpm, created_at, revoked_at FROM api_keys ORDER BY id",
        )?;
        let rows = stmt.query_map([], row_to_key)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Revokes a key; requests made with it are refused from then on. Revoking twice is not
    /// an error.
    pub fn revoke(&self, id: i64) -> Result<KeyInfo, StoreError> {
        let conn = self.writer();
        conn.execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![unix_now(), id],
        )?;
        conn.query_row(
            "SELECT id, name, prefix, rpm, tpm, created_at, revoked_at FROM api_keys WHERE id = ?1",
            params![id],
            row_to_key,
        )
        .optional()?
        .ok_or(StoreError::NoSuchKey(id))
    }

    /// Keys that are not revoked. While there are none, the API needs no key.
    pub fn active_keys(&self) -> Result<u64, StoreError> {
        let n: i64 = self.reader().query_row(
            "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// The active key whose secret this is, if any.
    pub fn authenticate(&self, secret: &str) -> Result<Option<KeyInfo>, StoreError> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                "SELECT id, name, prefix, rpm, tpm, created_at, revoked_at FROM api_keys
                 WHERE hash = ?1 AND revoked_at IS NULL",
                params![hash_key(secret)],
                row_to_key,
            )
            .optional()?)
    }

    /// Adds one request's tokens to today's row of `key_id`, durably: when this returns,
    /// the usage survives a crash.
    pub fn record_usage(
        &self,
        key_id: i64,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> Result<(), StoreError> {
        let day = utc_day(SystemTime::now());
        self.writer().execute(
            "INSERT INTO usage (key_id, day, requests, prompt_tokens, completion_tokens) VALUES (?1, ?2, 1, ?3, ?4)
             ON CONFLICT (key_id, day) DO UPDATE SET
                requests = requests + 1,
                prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                completion_tokens = completion_tokens + excluded.completion_tokens",
            params![key_id, day, clamp_i64(prompt_tokens), clamp_i64(completion_tokens)],
        )?;
        Ok(())
    }

    /// Usage rows, of one key or all, by key then day.
    pub fn usage(&self, key_id: Option<i64>) -> Result<Vec<UsageRow>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT key_id, day, requests, prompt_tokens, completion_tokens FROM usage
             WHERE ?1 IS NULL OR key_id = ?1 ORDER BY key_id, day",
        )?;
        let rows = stmt.query_map(params![key_id], |r| {
            Ok(UsageRow {
                key_id: r.get(0)?,
                day: r.get(1)?,
                requests: r.get::<_, i64>(2)?.max(0) as u64,
                prompt_tokens: r.get::<_, i64>(3)?.max(0) as u64,
                completion_tokens: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn row_to_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyInfo> {
    Ok(KeyInfo {
        id: r.get(0)?,
        name: r.get(1)?,
        prefix: r.get(2)?,
        rpm: r.get::<_, Option<i64>>(3)?.map(|v| v.max(0) as u64),
        tpm: r.get::<_, Option<i64>>(4)?.map(|v| v.max(0) as u64),
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

fn clamp_i64(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// SHA-256 of a key, lower-case hex: what the store keeps.
pub fn hash_key(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The UTC calendar day of `t` as `YYYY-MM-DD`.
pub fn utc_day(t: SystemTime) -> String {
    let days = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Where the store lives by default: the per-user data folder, `$FERROCODEX_HOME` if set,
/// else `$XDG_DATA_HOME/ferrocodex`, else `$HOME/.local/share/ferrocodex`. `lookup` reads
/// one environment variable (empty values count as unset, and so does a relative
/// `XDG_DATA_HOME`).
pub fn default_store_path_from(
    lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    let var = |name: &str| lookup(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if let Some(home) = var("FERROCODEX_HOME") {
        home
    } else if let Some(xdg) = var("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        xdg.join("ferrocodex")
    } else {
        var("HOME")
            .or_else(|| var("USERPROFILE"))?
            .join(".local")
            .join("share")
            .join("ferrocodex")
    };
    Some(dir.join(STORE_FILE))
}

/// [`default_store_path_from`] with this process's environment.
pub fn default_store_path() -> Option<PathBuf> {
    default_store_path_from(|name| std::env::var_os(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashed_shown_once_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        assert_eq!(store.active_keys().unwrap(), 0);
        let (info, secret) = store.create_key("ci", Some(10), None).unwrap();
        assert!(secret.starts_with(KEY_PREFIX));
        assert_eq!(secret.len(), KEY_PREFIX.len() + 48);
        assert!(secret.starts_with(&info.prefix));
        let (_, other) = store.create_key("b", None, None).unwrap();
        assert_ne!(secret, other);
        assert_eq!(store.active_keys().unwrap(), 2);
        assert_eq!(store.authenticate(&secret).unwrap().unwrap().id, info.id);
        assert!(store.authenticate("fcx-000").unwrap().is_none());
        // The file holds the hash, never the key.
        drop(store);
        let raw = std::fs::read(dir.path().join("s.sqlite3")).unwrap();
        let wal = std::fs::read(dir.path().join("s.sqlite3-wal")).unwrap_or_default();
        let hay = [raw, wal].concat();
        let find = |needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(!find(secret.as_bytes()));
        assert!(find(hash_key(&secret).as_bytes()));
        let store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        let revoked = store.revoke(info.id).unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(store.authenticate(&secret).unwrap().is_none());
        assert_eq!(store.active_keys().unwrap(), 1);
        assert!(matches!(store.revoke(999), Err(StoreError::NoSuchKey(999))));
    }

    #[test]
    fn usage_adds_up_per_key_and_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.sqlite3");
        {
            let store = Store::open(&path).unwrap();
            store.record_usage(1, 10, 5).unwrap();
            store.record_usage(1, 3, 2).unwrap();
            store.record_usage(2, 1, 1).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let rows = store.usage(Some(1)).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].requests,
                rows[0].prompt_tokens,
                rows[0].completion_tokens
            ),
            (2, 13, 7)
        );
        assert_eq!(rows[0].day, utc_day(SystemTime::now()));
        assert_eq!(store.usage(None).unwrap().len(), 2);
    }

    #[test]
    fn utc_days() {
        assert_eq!(utc_day(UNIX_EPOCH), "1970-01-01");
        assert_eq!(
            utc_day(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29"
        );
        assert_eq!(
            utc_day(UNIX_EPOCH + Duration::from_secs(1_767_225_599)),
            "2025-12-31"
        );
    }

    #[test]
    fn store_path_follows_the_environment() {
        let get = |vars: &'static [(&'static str, &'static str)]| {
            default_store_path_from(move |n| {
                vars.iter().find(|(k, _)| *k == n).map(|(_, v)| (*v).into())
            })
        };
        assert_eq!(
            get(&[("FERROCODEX_HOME", "/fc"), ("HOME", "/h")]),
            Some(PathBuf::from("/fc").join(STORE_FILE))
        );
        assert_eq!(
            get(&[("XDG_DATA_HOME", "/d"), ("HOME", "/h")]),
            Some(PathBuf::from("/d/ferrocodex").join(STORE_FILE))
        );
        assert_eq!(
            get(&[("XDG_DATA_HOME", "rel"), ("HOME", "/h")]),
            Some(PathBuf::from("/h/.local/share/ferrocodex").join(STORE_FILE))
        );
        assert_eq!(get(&[]), None);
    }
}
