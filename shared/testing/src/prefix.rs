//! A Redis key prefix private to one test, whose keys are removed (SCAN + UNLINK of `prefix*`)
//! when its guard drops, also when the test panics; on one Redis or a Redis Cluster.

use crate::cleanup;
use order_cache::RedisArgs;
use redis::Commands;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Redis settings with a fresh key prefix; every key under it is removed when this drops.
/// Derefs to the settings; [`TestPrefix::args`] copies them into a configuration.
#[derive(Debug)]
pub struct TestPrefix {
    args: RedisArgs,
}

impl TestPrefix {
    /// The local Redis (`REDIS_URL`) with a fresh prefix ([`crate::redis_args`]).
    pub fn new() -> TestPrefix {
        TestPrefix::guard(crate::redis_args())
    }

    /// Guards the prefix of `args` (e.g. the secure stack's or the cluster's settings).
    pub fn guard(args: RedisArgs) -> TestPrefix {
        TestPrefix { args }
    }

    pub fn args(&self) -> RedisArgs {
        self.args.clone()
    }
}

impl Default for TestPrefix {
    fn default() -> Self {
        TestPrefix::new()
    }
}

impl std::ops::Deref for TestPrefix {
    type Target = RedisArgs;

    fn deref(&self) -> &RedisArgs {
        &self.args
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let args = self.args.clone();
        cleanup::run(format!("Redis keys {}*", args.key_prefix), move || {
            remove_keys(&args)
        });
    }
}

/// Removes every key under the prefix of `args`: from the one Redis, or from each cluster seed
/// (replicas refuse the UNLINK with a redirect, their master takes it).
fn remove_keys(args: &RedisArgs) -> Result<(), String> {
    if args.key_prefix.is_empty() {
        return Err("refusing to remove the keys of an empty prefix (that is every key)".into());
    }
    let pattern = format!("{}*", glob_escape(&args.key_prefix));
    let urls = match &args.cluster_urls {
        Some(urls) => order_cache::cluster::seeds(urls),
        None => vec![args.redis_url.clone()],
    };
    let mut reached = 0;
    let mut last_error = None;
    for url in urls {
        match remove_on(&url, args, &pattern) {
            Ok(()) => reached += 1,
            Err(err) => last_error = Some(err),
        }
    }
    match last_error {
        Some(err) if reached == 0 => Err(err),
        _ => Ok(()),
    }
}

fn remove_on(url: &str, args: &RedisArgs, pattern: &str) -> Result<(), String> {
    let client =
        order_cache::connect::client(url, &args.tls).map_err(|err| format!("client: {err}"))?;
    let mut connection = client
        .get_connection_with_timeout(TIMEOUT)
        .map_err(|err| format!("connect: {err}"))?;
    connection
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| connection.set_write_timeout(Some(TIMEOUT)))
        .map_err(|err| format!("timeouts: {err}"))?;
    let keys: Vec<String> = connection
        .scan_match::<_, String>(pattern)
        .map_err(|err| format!("SCAN: {err}"))?
        .collect();
    for key in keys {
        match connection.unlink::<_, i64>(&key) {
            Ok(_) => {}
            Err(err) if matches!(err.code(), Some("MOVED" | "ASK" | "READONLY")) => {}
            Err(err) => return Err(format!("UNLINK: {err}")),
        }
    }
    Ok(())
}

/// `text` matched literally by a Redis glob pattern.
fn glob_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn glob_characters_match_literally() {
        assert_eq!(super::glob_escape("test_ab:"), "test_ab:");
        assert_eq!(super::glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
    }
}
