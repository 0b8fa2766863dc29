//! `ferrocodex keys`: create, list and revoke the API keys of `ferrocodex serve`.

use std::path::PathBuf;

use anyhow::Context;
use ferrocodex_server::Store;

use crate::GlobalOpts;

#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    /// The key and usage store [default: ferrocodex.sqlite3 in $FERROCODEX_HOME, else
    /// $XDG_DATA_HOME/ferrocodex, else ~/.local/share/ferrocodex]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub action: KeysAction,
}

#[derive(clap::Subcommand, Debug)]
pub enum KeysAction {
    /// Make a new key and print it (it is shown only this once; the store keeps its hash)
    Create {
        /// A name to tell the key apart (who or what uses it)
        #[arg(long, default_value = "")]
        name: String,
        /// Requests per minute allowed [default: unlimited]
        #[arg(long, value_name = "N")]
        rpm: Option<u64>,
        /// Tokens (prompt + completion) per minute allowed [default: unlimited]
        #[arg(long, value_name = "N")]
        tpm: Option<u64>,
    },
    /// List the keys with today's and all-time usage
    List,
    /// Revoke a key: requests that carry it are refused from then on
    Revoke {
        /// The key's id, as `keys list` shows it
        id: i64,
    },
}

/// The store a command uses: `--db`, else the per-user default.
pub fn open_store(db: Option<&PathBuf>) -> anyhow::Result<Store> {
    let path = match db {
        Some(p) => p.clone(),
        None => ferrocodex_server::store::default_store_path().context(
            "cannot tell where the key store goes: set FERROCODEX_HOME or HOME, or pass --db PATH",
        )?,
    };
    Ok(Store::open(&path)?)
}

pub fn run(args: KeysArgs, _global: &GlobalOpts) -> anyhow::Result<()> {
    let store = open_store(args.db.as_ref())?;
    match args.action {
        KeysAction::Create { name, rpm, tpm } => {
            let (info, secret) = store.create_key(&name, rpm, tpm)?;
            if args.json {
                let mut v = serde_json::to_value(&info)?;
                v["key"] = serde_json::Value::String(secret);
                println!("{v}");
            } else {
                println!("{secret}");
                eprintln!(
                    "created key {} ({}); copy it now: it is not shown again. Store: {}",
                    info.id,
                    if info.name.is_empty() {
                        "no name"
                    } else {
                        &info.name
                    },
                    store.path().display()
                );
            }
        }
        KeysAction::List => {
            let keys = store.list_keys()?;
            let usage = store.usage(None)?;
            let today = ferrocodex_server::store::utc_day(std::time::SystemTime::now());
            let sums = |id: i64, day: Option<&str>| {
                usage
                    .iter()
                    .filter(|u| u.key_id == id && day.is_none_or(|d| u.day == d))
                    .fold((0u64, 0u64, 0u64), |a, u| {
                        (
                            a.0 + u.requests,
                            a.1 + u.prompt_tokens,
                            a.2 + u.completion_tokens,
                        )
                    })
            };
            if args.json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| {
                        let (r, p, c) = sums(k.id, None);
                        let (rt, pt, ct) = sums(k.id, Some(&today));
                        serde_json::json!({
                            "key": k,
                            "usage": {"requests": r, "prompt_tokens": p, "completion_tokens": c},
                            "today": {"requests": rt, "prompt_tokens": pt, "completion_tokens": ct},
                        })
                    })
                    .collect();
                println!("{}", serde_json::json!({"keys": rows, "usage": usage}));
                return Ok(());
            }
            if keys.is_empty() {
                println!("no keys: the API needs none (loopback only); `ferrocodex keys create` makes one");
                return Ok(());
            }
            println!(
                "{:>4}  {:<14} {:<16} {:>8} {:>10}  {:>22}  {:>22}",
                "id",
                "prefix",
                "name",
                "rpm",
                "tpm",
                "today (req/prompt/out)",
                "total (req/prompt/out)"
            );
            for k in &keys {
                let (r, p, c) = sums(k.id, None);
                let (rt, pt, ct) = sums(k.id, Some(&today));
                let limit = |v: Option<u64>| v.map_or("-".to_string(), |x| x.to_string());
                println!(
                    "{:>4}  {:<14} {:<16} {:>8} {:>10}  {:>22}  {:>22}{}",
                    k.id,
                    format!("{}…", k.prefix),
                    k.name,
                    limit(k.rpm),
                    limit(k.tpm),
                    format!("{rt}/{pt}/{ct}"),
                    format!("{r}/{p}/{c}"),
                    if k.revoked_at.is_some() {
                        "  revoked"
                    } else {
                        ""
                    }
                );
            }
        }
        KeysAction::Revoke { id } => {
            let k = store.revoke(id)?;
            if args.json {
                println!("{}", serde_json::to_value(&k)?);
            } else {
                println!("revoked key {} ({}…)", k.id, k.prefix);
            }
        }
    }
    Ok(())
}
