//! The Redis store (`--store redis://HOST:PORT/DB`): the same semantics as the in-memory store,
//! shared by every specstub instance pointed at the same Redis and prefix, so that several
//! instances behind a load balancer act as one API.
//!
//! Every operation is one Lua script, so each is atomic across instances without WATCH/MULTI
//! round trips. An update reads the record, runs the change locally (it is arbitrary Rust), then
//! compares-and-sets on the version it read; a lost race is retried a bounded number of times.
//!
//! Keys (P is `--store-prefix`, names escaped so that `:` never splits them):
//! - `P:c:{session}:{resource}:rec`    hash id → "VERSION SEQ RECORD-JSON"
//! - `P:c:{session}:{resource}:order`  sorted set of ids by creation sequence
//! - `P:c:{session}:{resource}:seq`    the INCR counter behind that sequence
//! - `P:c:{session}:{resource}:uniq`   hash "FIELD\x1fVALUE-JSON" → id (unique keys)
//! - `P:c:{session}:{resource}:held`   hash id → the unique pairs it holds, so they can be freed
//! - `P:c:{session}:{resource}:seeded` marker: the fixtures are in (SET NX, so seeded once)
//! - `P:r:{session}`                   set of the session's resources, `P:sessions` set of sessions
//!
//! The index sets make a reset touch only the keys of what it resets: never KEYS or FLUSHDB.
//! The store's calls are synchronous (the [`Store`] trait is): the engine runs them where a wait
//! cannot hold up other requests (`Runtime::offload`), and every wait is bounded by the pool's
//! timeouts. A [`Probe`] thread pings Redis on its own connection, so health can say at once
//! whether the store answers, however stalled Redis is.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::{Change, Declined, Expect, Health, Ns, Page, Record, State, Store, StoreError};

/// Connections kept open at most; more callers wait (bounded by the timeout) for one to come back.
const MAX_CONNECTIONS: usize = 32;
/// After a failed connect, fail fast for this long instead of making every request wait.
const BACKOFF: Duration = Duration::from_millis(200);
/// Attempts of an update that keeps losing the race to other writers of the same record.
const CAS_ATTEMPTS: usize = 16;
/// How often the probe pings, and how long it waits for the answer (at most: never longer than
/// the pool's own timeout): a stall shows in health within about a second.
const PROBE_EVERY: Duration = Duration::from_millis(500);
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// A small pool of synchronous Redis connections with short timeouts.
pub struct Pool {
    client: redis::Client,
    /// Where Redis is, for messages (never the password).
    pub(crate) shown: String,
    state: Mutex<PoolState>,
    returned: Condvar,
    /// Longest wait to connect, for a reply, or for a free pooled connection (`--store-timeout`).
    timeout: Duration,
    /// Why Redis last failed to answer, or None while it answers: set by the probe and by any
    /// call that lost its connection, cleared by the probe's next good ping.
    down: Mutex<Option<String>>,
}

#[derive(Default)]
struct PoolState {
    idle: Vec<redis::Connection>,
    open: usize,
    down_until: Option<(Instant, String)>,
}

impl Pool {
    /// Parses the URL and checks that Redis answers within `timeout`, which then bounds every
    /// wait on it; the error says which and why.
    pub fn connect(url: &str, timeout: Duration) -> Result<Self, String> {
        let bad = |e: redis::RedisError| format!("{url:?} is not a Redis URL such as redis://127.0.0.1:6379/0 ({e})");
        let info = redis::IntoConnectionInfo::into_connection_info(url).map_err(bad)?;
        // No `CLIENT SETINFO` after connecting: its replies are read one by one, each with the
        // whole timeout, so a frozen Redis held a new connection for twice the timeout.
        let settings = info.redis_settings().clone().set_skip_set_lib_name();
        let client = redis::Client::open(info.set_redis_settings(settings)).map_err(bad)?;
        let info = client.get_connection_info();
        let shown = format!("redis://{}/{}", info.addr(), info.redis_settings().db());
        let pool =
            Self { client, shown, state: Mutex::new(PoolState::default()), returned: Condvar::new(), timeout, down: Mutex::new(None) };
        pool.run(|c| redis::cmd("PING").query::<String>(c)).map_err(|e| match e {
            StoreError::Unavailable(why) => format!("cannot reach the store: {why}"),
            other => format!("cannot reach the store: {other}"),
        })?;
        Ok(pool)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unavailable(&self, why: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable(format!("redis at {}: {why}", self.shown))
    }

    /// The store's state as the probe and the last calls saw it; never waits for Redis.
    pub fn health(&self) -> Health {
        let down = self.down.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let state = if down.is_some() { State::Unavailable } else { State::Available };
        Health { kind: "redis", state, error: down }
    }

    fn mark(&self, down: Option<String>) {
        *self.down.lock().unwrap_or_else(|p| p.into_inner()) = down;
    }

    /// One ping on the probe's own connection (made anew after a failure), never a pooled one:
    /// a pool whose connections all wait on a stalled Redis must not hide that it is stalled.
    fn ping(&self, con: &mut Option<redis::Connection>) -> Result<(), String> {
        let timeout = PROBE_TIMEOUT.min(self.timeout);
        if con.is_none() {
            let made = self.client.get_connection_with_timeout(timeout).and_then(|c| {
                c.set_read_timeout(Some(timeout))?;
                c.set_write_timeout(Some(timeout))?;
                Ok(c)
            });
            *con = Some(made.map_err(|e| e.to_string())?);
        }
        let Some(c) = con.as_mut() else { return Err("no connection".into()) };
        match redis::cmd("PING").query::<String>(c) {
            Ok(_) => Ok(()),
            Err(e) => {
                *con = None;
                Err(if e.is_timeout() { format!("no answer to PING within {timeout:?}") } else { e.to_string() })
            }
        }
    }

    /// A pooled connection (and whether it was reused), or a new one.
    fn take(&self) -> Result<(redis::Connection, bool), StoreError> {
        let deadline = Instant::now() + self.timeout;
        let mut state = self.lock();
        loop {
            if let Some(c) = state.idle.pop() {
                return Ok((c, true));
            }
            if let Some((until, why)) = &state.down_until {
                if Instant::now() < *until {
                    return Err(self.unavailable(why));
                }
            }
            if state.open < MAX_CONNECTIONS {
                state.open += 1;
                drop(state);
                let made = self.client.get_connection_with_timeout(self.timeout).and_then(|c| {
                    c.set_read_timeout(Some(self.timeout))?;
                    c.set_write_timeout(Some(self.timeout))?;
                    Ok(c)
                });
                let mut state = self.lock();
                return match made {
                    Ok(c) => {
                        state.down_until = None;
                        Ok((c, false))
                    }
                    Err(e) => {
                        state.open -= 1;
                        state.down_until = Some((Instant::now() + BACKOFF, e.to_string()));
                        drop(state);
                        self.mark(Some(format!("redis at {}: {e}", self.shown)));
                        Err(self.unavailable(e))
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.unavailable(format!("every pooled connection stayed busy for {:?}", self.timeout)));
            }
            state = self.returned.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Runs `f` on a pooled connection. A connection that failed is dropped, not reused, so the
    /// pool heals by itself once Redis is back. A reused connection that turns out dead (Redis
    /// restarted since it was pooled) is replaced once: the command never reached a server then.
    pub(crate) fn run<T>(&self, mut f: impl FnMut(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (mut con, reused) = self.take()?;
            let result = f(&mut con);
            let broken = match &result {
                Err(e) => e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || !redis::ConnectionLike::is_open(&con),
                Ok(_) => false,
            };
            let mut state = self.lock();
            if broken {
                // The others were most likely cut by the same restart: reconnect them all.
                state.open -= 1 + state.idle.len();
                state.idle.clear();
            } else {
                state.idle.push(con);
            }
            drop(state);
            self.returned.notify_one();
            if let (true, Err(e)) = (broken, &result) {
                self.mark(Some(format!("redis at {}: {e}", self.shown)));
            }
            match result {
                Err(e) if broken && reused && attempts == 1 && (e.is_connection_dropped() || e.is_connection_refusal()) => continue,
                other => return other.map_err(|e| self.unavailable(e)),
            }
        }
    }
}

/// The background health check of a [`Pool`]: a thread that pings every `PROBE_EVERY` and
/// records what it saw in the pool, until the probe is dropped.
pub struct Probe {
    stop: Arc<(Mutex<bool>, Condvar)>,
}

impl Probe {
    pub fn spawn(pool: Arc<Pool>) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        // Not joined on drop: a ping in flight ends within PROBE_TIMEOUT by itself, and
        // dropping a server must not wait for it.
        let spawned = std::thread::Builder::new().name("specstub-store-probe".into()).spawn(move || {
            let mut con = None;
            loop {
                let seen = pool.ping(&mut con).err().map(|why| format!("redis at {}: {why}", pool.shown));
                if let Some(why) = &seen {
                    if pool.health().error.is_none() {
                        tracing::warn!(error = %why, "the store stopped answering");
                    }
                } else if pool.health().error.is_some() {
                    tracing::info!(store = %pool.shown, "the store answers again");
                }
                pool.mark(seen);
                let (lock, wake) = &*signal;
                let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                let (stopped, _) = wake.wait_timeout_while(stopped, PROBE_EVERY, |s| !*s).unwrap_or_else(|p| p.into_inner());
                if *stopped {
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the store's health probe: health reports only failed calls");
        }
        Self { stop }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
    }
}

/// `memory`, or a `redis://` URL that parses; what the flag accepts.
pub fn check_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s == "memory" {
        return Ok(s.to_string());
    }
    if !s.starts_with("redis://") {
        return Err(format!("{s:?}: expected memory or redis://HOST:PORT/DB, such as redis://127.0.0.1:6379/0"));
    }
    redis::Client::open(s).map_err(|e| format!("{s:?} is not a Redis URL such as redis://127.0.0.1:6379/0 ({e})"))?;
    Ok(s.to_string())
}

/// Keeps `:` and `%` out of key segments so that session and resource names never collide.
fn esc(s: &str) -> String {
    s.replace('%', "%25").replace(':', "%3A")
}

fn unesc(s: &str) -> String {
    s.replace("%3A", ":").replace("%25", "%")
}

/// The unique pairs a record holds: "FIELD\x1fVALUE-JSON", with the value as the memory store
/// compares it (JSON text), empty strings and nulls holding nothing.
fn unique_pairs(record: &Record, fields: &[String]) -> Vec<String> {
    fields
        .iter()
        .filter_map(|f| {
            let v = record.data.get(f).filter(|v| !v.is_null() && *v != "")?;
            Some(format!("{f}\x1f{v}"))
        })
        .collect()
}

fn split_pair(pair: &str) -> (String, String) {
    let (f, v) = pair.split_once('\x1f').unwrap_or((pair, ""));
    (f.to_string(), v.to_string())
}

/// Shared by every script: key names, the seeded check, TTLs and the unique-key index.
const PRELUDE: &str = r#"
local base = KEYS[1]
local function k(s) return base .. s end
local function unseeded() return ARGV[1] == '1' and redis.call('EXISTS', k('seeded')) == 0 end
local function touch()
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[4])
  local ttl = tonumber(ARGV[2])
  if ttl > 0 then
    for _, s in ipairs({'rec', 'order', 'seq', 'uniq', 'held', 'seeded'}) do redis.call('PEXPIRE', k(s), ttl) end
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
local function parse(v)
  local ver, seq, json = string.match(v, '^(%d+) (%d+) (.*)$')
  return tonumber(ver), tonumber(seq), json
end
local function unhold(id, fields)
  local held = redis.call('HGET', k('held'), id)
  local kept = {}
  if held then
    for pair in string.gmatch(held, '[^\30]+') do
      local f = string.match(pair, '^([^\31]*)\31')
      if fields == nil or fields[f] then
        if redis.call('HGET', k('uniq'), pair) == id then redis.call('HDEL', k('uniq'), pair) end
      else
        table.insert(kept, pair)
      end
    end
  end
  return kept
end
local function hold(id, kept, pairs)
  for _, p in ipairs(pairs) do
    redis.call('HSET', k('uniq'), p, id)
    table.insert(kept, p)
  end
  if #kept > 0 then redis.call('HSET', k('held'), id, table.concat(kept, '\30')) else redis.call('HDEL', k('held'), id) end
end
local function conflict(id, pairs)
  for _, p in ipairs(pairs) do
    local h = redis.call('HGET', k('uniq'), p)
    if h and h ~= id then return p end
  end
  return nil
end
local function num(n) return string.format('%.0f', n) end
"#;

const GET: &str = r#"
if unseeded() then return {'U'} end
return {'OK', redis.call('HGET', k('rec'), ARGV[5])}
"#;

const CREATE: &str = r#"
if unseeded() then return {'U'} end
local id = ARGV[5]
if redis.call('HEXISTS', k('rec'), id) == 1 then return {'TAKEN'} end
local pairs = {}
for i = 7, #ARGV do pairs[#pairs + 1] = ARGV[i] end
local c = conflict(id, pairs)
if c then return {'DUP', c} end
local seq = redis.call('INCR', k('seq'))
redis.call('HSET', k('rec'), id, '1 ' .. num(seq) .. ' ' .. ARGV[6])
redis.call('ZADD', k('order'), seq, id)
hold(id, unhold(id, nil), pairs)
touch()
return {'OK', num(seq)}
"#;

const UPDATE: &str = r#"
if unseeded() then return {'U'} end
local id = ARGV[5]
local cur = redis.call('HGET', k('rec'), id)
if not cur then return {'GONE'} end
local ver, seq = parse(cur)
if ver ~= tonumber(ARGV[6]) then return {'RACE', num(ver)} end
local n = tonumber(ARGV[8])
local fields = {}
for i = 9, 8 + n do fields[ARGV[i]] = true end
local pairs = {}
for i = 9 + n, #ARGV do pairs[#pairs + 1] = ARGV[i] end
local c = conflict(id, pairs)
if c then return {'DUP', c} end
hold(id, unhold(id, fields), pairs)
redis.call('HSET', k('rec'), id, num(ver + 1) .. ' ' .. num(seq) .. ' ' .. ARGV[7])
touch()
return {'OK', num(ver + 1)}
"#;

const DELETE: &str = r#"
if unseeded() then return {'U'} end
local id = ARGV[5]
local cur = redis.call('HGET', k('rec'), id)
if not cur then return {'GONE'} end
local ver = parse(cur)
if ARGV[6] ~= '-' and ver ~= tonumber(ARGV[6]) then return {'MISMATCH', num(ver)} end
hold(id, unhold(id, nil), {})
redis.call('HDEL', k('rec'), id)
redis.call('ZREM', k('order'), id)
touch()
return {'OK', cur}
"#;

const PUT: &str = r#"
if unseeded() then return {'U'} end
local id = ARGV[5]
local cur = redis.call('HGET', k('rec'), id)
local ver = 1
if cur then
  ver = parse(cur) + 1
  redis.call('ZREM', k('order'), id)
end
local seq = redis.call('INCR', k('seq'))
redis.call('HSET', k('rec'), id, num(ver) .. ' ' .. num(seq) .. ' ' .. ARGV[6])
redis.call('ZADD', k('order'), seq, id)
local pairs = {}
for i = 7, #ARGV do pairs[#pairs + 1] = ARGV[i] end
hold(id, unhold(id, nil), pairs)
touch()
return {'OK', num(ver), num(seq)}
"#;

const LIST: &str = r#"
if unseeded() then return {'U'} end
local ids = redis.call('ZRANGE', k('order'), 0, -1)
local out = {'OK'}
for i = 1, #ids, 500 do
  local batch = {}
  for j = i, math.min(i + 499, #ids) do batch[#batch + 1] = ids[j] end
  local vals = redis.call('HMGET', k('rec'), unpack(batch))
  for j = 1, #batch do
    if vals[j] then out[#out + 1] = vals[j] end
  end
end
return out
"#;

/// One page of the whole collection by rank or after a sequence, with the total and how many
/// come before it: O(log n + page) on the sorted set.
const PAGE: &str = r#"
if unseeded() then return {'U'} end
local total = redis.call('ZCARD', k('order'))
local limit = tonumber(ARGV[7])
local before, ids
if ARGV[5] == 'after' then
  before = redis.call('ZCOUNT', k('order'), '-inf', ARGV[6])
  ids = redis.call('ZRANGEBYSCORE', k('order'), '(' .. ARGV[6], '+inf', 'LIMIT', 0, limit)
else
  before = tonumber(ARGV[6])
  ids = {}
  if limit > 0 then ids = redis.call('ZRANGE', k('order'), before, before + limit - 1) end
end
local out = {'OK', tostring(total), tostring(before)}
if #ids > 0 then
  local vals = redis.call('HMGET', k('rec'), unpack(ids))
  for j = 1, #ids do
    if vals[j] then out[#out + 1] = vals[j] end
  end
end
return out
"#;

const COUNT: &str = r#"
if unseeded() then return {'U'} end
return {'OK', tostring(redis.call('HLEN', k('rec')))}
"#;

/// Seeds the fixtures once: the first instance to set the marker writes them, the others (and
/// later calls) see the marker and do nothing.
const SEED: &str = r#"
if redis.call('SET', k('seeded'), '1', 'NX') then
  for i = 5, #ARGV, 3 do
    local id = ARGV[i]
    local seq = redis.call('INCR', k('seq'))
    local ver, json = string.match(ARGV[i + 1], '^(%d+) (.*)$')
    redis.call('HSET', k('rec'), id, ver .. ' ' .. num(seq) .. ' ' .. json)
    redis.call('ZADD', k('order'), seq, id)
    local pairs = {}
    for p in string.gmatch(ARGV[i + 2], '[^\30]+') do pairs[#pairs + 1] = p end
    hold(id, unhold(id, nil), pairs)
  end
  touch()
end
return {'OK'}
"#;

/// Deletes the collections of one resource, one session or all, found through the index sets.
/// UNLINK frees big collections in the background instead of blocking Redis.
const RESET: &str = r#"
local sessions
if ARGV[2] == '1' then sessions = {ARGV[1]} else sessions = redis.call('SMEMBERS', KEYS[1]) end
for _, s in ipairs(sessions) do
  local rkey = KEYS[2] .. s
  local resources
  if ARGV[4] == '1' then resources = {ARGV[3]} else resources = redis.call('SMEMBERS', rkey) end
  for _, r in ipairs(resources) do
    local b = KEYS[3] .. s .. ':' .. r .. ':'
    redis.call('UNLINK', b .. 'rec', b .. 'order', b .. 'seq', b .. 'uniq', b .. 'held', b .. 'seeded')
    redis.call('SREM', rkey, r)
  end
  if redis.call('SCARD', rkey) == 0 then redis.call('SREM', KEYS[1], s) end
end
return 'OK'
"#;

struct Scripts {
    get: redis::Script,
    create: redis::Script,
    update: redis::Script,
    delete: redis::Script,
    put: redis::Script,
    list: redis::Script,
    page: redis::Script,
    count: redis::Script,
    seed: redis::Script,
    reset: redis::Script,
}

impl Scripts {
    fn new() -> Self {
        let s = |body: &str| redis::Script::new(&format!("{PRELUDE}{body}"));
        Self {
            get: s(GET),
            create: s(CREATE),
            update: s(UPDATE),
            delete: s(DELETE),
            put: s(PUT),
            list: s(LIST),
            page: s(PAGE),
            count: s(COUNT),
            seed: s(SEED),
            reset: redis::Script::new(RESET),
        }
    }
}

/// Settings of the Redis store besides its URL.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Every key starts with this, so one Redis hosts several teams' stubs.
    pub prefix: String,
    /// Keys expire this long after their collection's last write.
    pub ttl: Option<Duration>,
}

pub struct RedisStore {
    pool: std::sync::Arc<Pool>,
    prefix: String,
    ttl_ms: u64,
    /// Replaced whole when a hot reload changes fixtures.
    fixtures: arc_swap::ArcSwap<HashMap<String, Vec<Record>>>,
    unique_fields: HashMap<String, Vec<String>>,
    scripts: Scripts,
}

/// A record as stored: id, scope and data (version and sequence live beside it in the hash).
fn encode(record: &Record) -> String {
    let bare = Record { id: record.id.clone(), version: 0, seq: 0, scope: record.scope.clone(), data: record.data.clone() };
    serde_json::to_string(&bare).unwrap_or_default()
}

fn decode(stored: &str) -> Result<Record, StoreError> {
    let damaged = || StoreError::Unavailable(format!("a stored record is damaged: {:.80}", stored));
    let mut parts = stored.splitn(3, ' ');
    let (Some(ver), Some(seq), Some(json)) = (parts.next(), parts.next(), parts.next()) else { return Err(damaged()) };
    let mut record: Record = serde_json::from_str(json).map_err(|_| damaged())?;
    record.version = ver.parse().map_err(|_| damaged())?;
    record.seq = seq.parse().map_err(|_| damaged())?;
    Ok(record)
}

type Reply = Vec<Option<String>>;

impl RedisStore {
    pub fn new(
        pool: std::sync::Arc<Pool>,
        options: &RedisOptions,
        fixtures: HashMap<String, Vec<Record>>,
        unique_fields: HashMap<String, Vec<String>>,
    ) -> Self {
        Self {
            pool,
            prefix: options.prefix.clone(),
            ttl_ms: options.ttl.map(|t| t.as_millis().max(1) as u64).unwrap_or(0),
            fixtures: arc_swap::ArcSwap::from_pointee(fixtures),
            unique_fields,
            scripts: Scripts::new(),
        }
    }

    fn sessions_key(&self) -> String {
        format!("{}:sessions", self.prefix)
    }

    fn resources_prefix(&self) -> String {
        format!("{}:r:", self.prefix)
    }

    fn collections_prefix(&self) -> String {
        format!("{}:c:", self.prefix)
    }

    /// Runs a collection script (the prelude's KEYS and first ARGV, then `args`), seeding the
    /// fixtures first when the script finds them missing.
    fn call(&self, script: &redis::Script, ns: &Ns, args: &[String]) -> Result<Reply, StoreError> {
        let (s, r) = (esc(&ns.session), esc(&ns.resource));
        let base = format!("{}{s}:{r}:", self.collections_prefix());
        let resources = format!("{}{s}", self.resources_prefix());
        let has_fixtures = if self.fixtures.load().contains_key(&ns.resource) { "1" } else { "0" };
        let invoke = |script: &redis::Script, args: &[String]| -> Result<Reply, StoreError> {
            self.pool.run(|con| {
                let mut inv = script.prepare_invoke();
                inv.key(&base).key(self.sessions_key()).key(&resources);
                inv.arg(has_fixtures).arg(self.ttl_ms).arg(&s).arg(&r);
                for a in args {
                    inv.arg(a);
                }
                inv.invoke(con)
            })
        };
        for _ in 0..3 {
            let reply = invoke(script, args)?;
            if reply.first().and_then(|s| s.as_deref()) != Some("U") {
                return Ok(reply);
            }
            invoke(&self.scripts.seed, &self.seed_args(&ns.resource))?;
        }
        Err(StoreError::Unavailable(format!("redis at {}: the fixtures of {} could not be seeded", self.pool.shown, ns.resource)))
    }

    fn seed_args(&self, resource: &str) -> Vec<String> {
        let fields = self.unique_fields.get(resource).map(Vec::as_slice).unwrap_or(&[]);
        let mut args = Vec::new();
        let fixtures = self.fixtures.load();
        for r in fixtures.get(resource).into_iter().flatten() {
            args.push(r.id.clone());
            args.push(format!("{} {}", r.version, encode(r)));
            args.push(unique_pairs(r, fields).join("\x1e"));
        }
        args
    }

    fn fields(&self, resource: &str) -> &[String] {
        self.unique_fields.get(resource).map(Vec::as_slice).unwrap_or(&[])
    }

    fn resources_of(&self, session: &str) -> Result<Vec<String>, StoreError> {
        let key = format!("{}{}", self.resources_prefix(), esc(session));
        let names: Vec<String> = self.pool.run(|c| redis::cmd("SMEMBERS").arg(&key).query(c))?;
        Ok(names.iter().map(|n| unesc(n)).collect())
    }
}

fn status(reply: &Reply) -> &str {
    reply.first().and_then(|s| s.as_deref()).unwrap_or("")
}

fn field(reply: &Reply, i: usize) -> &str {
    reply.get(i).and_then(|s| s.as_deref()).unwrap_or("")
}

fn duplicate(pair: &str) -> StoreError {
    let (field, value) = split_pair(pair);
    StoreError::Duplicate { field, value }
}

fn unexpected(reply: &Reply) -> StoreError {
    StoreError::Unavailable(format!("unexpected reply from the store script: {reply:?}"))
}

impl Store for RedisStore {
    fn get(&self, ns: &Ns, id: &str) -> Result<Option<Record>, StoreError> {
        let reply = self.call(&self.scripts.get, ns, &[id.to_string()])?;
        match reply.get(1).and_then(|v| v.as_deref()) {
            Some(stored) => decode(stored).map(Some),
            None => Ok(None),
        }
    }

    fn create(&self, ns: &Ns, mut record: Record, unique: &[String]) -> Result<Record, StoreError> {
        let mut args = vec![record.id.clone(), encode(&record)];
        args.extend(unique_pairs(&record, unique));
        let reply = self.call(&self.scripts.create, ns, &args)?;
        match status(&reply) {
            "OK" => {
                record.version = 1;
                record.seq = field(&reply, 1).parse().unwrap_or(0);
                Ok(record)
            }
            "TAKEN" => Err(StoreError::IdTaken),
            "DUP" => Err(duplicate(field(&reply, 1))),
            _ => Err(unexpected(&reply)),
        }
    }

    fn update(&self, ns: &Ns, id: &str, expect: Expect, unique: &[String], change: Change<'_>) -> Result<Record, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let Some(current) = self.get(ns, id)? else { return Err(StoreError::NotFound) };
            expect.admits(&current)?;
            let mut next = current.clone();
            change(&mut next).map_err(|Declined| StoreError::Declined)?;
            next.id = id.to_string();
            let mut args = vec![id.to_string(), current.version.to_string(), encode(&next), unique.len().to_string()];
            args.extend(unique.iter().cloned());
            args.extend(unique_pairs(&next, unique));
            let reply = self.call(&self.scripts.update, ns, &args)?;
            match status(&reply) {
                "OK" => {
                    next.version = field(&reply, 1).parse().unwrap_or(current.version + 1);
                    next.seq = current.seq;
                    return Ok(next);
                }
                "GONE" => return Err(StoreError::NotFound),
                "DUP" => return Err(duplicate(field(&reply, 1))),
                // Another writer got in between: read again and re-apply the change; under
                // If-Match the next read reports the mismatch.
                "RACE" => continue,
                _ => return Err(unexpected(&reply)),
            }
        }
        Err(StoreError::Unavailable(format!("{id} kept changing under {CAS_ATTEMPTS} attempts to update it")))
    }

    fn delete(&self, ns: &Ns, id: &str, expect: Expect) -> Result<Record, StoreError> {
        let expected = match expect {
            Expect::Any => "-".to_string(),
            Expect::Version(v) => v.to_string(),
        };
        let reply = self.call(&self.scripts.delete, ns, &[id.to_string(), expected])?;
        match status(&reply) {
            "OK" => decode(field(&reply, 1)),
            "GONE" => Err(StoreError::NotFound),
            "MISMATCH" => Err(StoreError::VersionMismatch { current: field(&reply, 1).parse().unwrap_or(0) }),
            _ => Err(unexpected(&reply)),
        }
    }

    fn list(&self, ns: &Ns, keep: &dyn Fn(&Record) -> bool, offset: usize, limit: usize) -> Result<Page, StoreError> {
        let reply = self.call(&self.scripts.list, ns, &[])?;
        let stored: Vec<Record> = reply.iter().skip(1).flatten().map(|s| decode(s)).collect::<Result<_, _>>()?;
        Ok(super::page(&stored, keep, offset, limit))
    }

    fn query(&self, ns: &Ns, q: &super::Query<'_>) -> Result<Page, StoreError> {
        if !q.scope.is_empty() || !q.fields.is_empty() {
            return super::walk(self, ns, q);
        }
        // Pages are bounded by the API's page size; the cap keeps a Lua reply sane either way.
        let limit = q.limit.min(10_000).to_string();
        let args = match q.start {
            super::Start::After(seq) => vec!["after".to_string(), seq.to_string(), limit],
            super::Start::Offset(n) => vec!["offset".to_string(), n.to_string(), limit],
        };
        let reply = self.call(&self.scripts.page, ns, &args)?;
        if status(&reply) != "OK" {
            return Err(unexpected(&reply));
        }
        let records = reply.iter().skip(3).flatten().map(|s| decode(s)).collect::<Result<_, _>>()?;
        Ok(Page { records, total: field(&reply, 1).parse().unwrap_or(0), offset: field(&reply, 2).parse().unwrap_or(0) })
    }

    fn put(&self, ns: &Ns, mut record: Record) -> Result<Record, StoreError> {
        let mut args = vec![record.id.clone(), encode(&record)];
        args.extend(unique_pairs(&record, self.fields(&ns.resource)));
        let reply = self.call(&self.scripts.put, ns, &args)?;
        if status(&reply) != "OK" {
            return Err(unexpected(&reply));
        }
        record.version = field(&reply, 1).parse().unwrap_or(1);
        record.seq = field(&reply, 2).parse().unwrap_or(0);
        Ok(record)
    }

    fn reset(&self, session: Option<&str>, resource: Option<&str>) -> Result<(), StoreError> {
        let (s, r) = (session.map(esc).unwrap_or_default(), resource.map(esc).unwrap_or_default());
        self.pool.run(|con| {
            self.scripts
                .reset
                .key(self.sessions_key())
                .key(self.resources_prefix())
                .key(self.collections_prefix())
                .arg(&s)
                .arg(if session.is_some() { "1" } else { "0" })
                .arg(&r)
                .arg(if resource.is_some() { "1" } else { "0" })
                .invoke::<String>(con)
        })?;
        Ok(())
    }

    fn set_fixtures(&self, resource: &str, records: Vec<Record>) -> Result<(), StoreError> {
        let mut all = HashMap::clone(&self.fixtures.load());
        if records.is_empty() {
            all.remove(resource);
        } else {
            all.insert(resource.to_string(), records);
        }
        self.fixtures.store(std::sync::Arc::new(all));
        Ok(())
    }

    fn collections(&self, session: &str) -> Result<Vec<(String, usize)>, StoreError> {
        let mut names: Vec<String> = self.fixtures.load().keys().cloned().collect();
        for r in self.resources_of(session)? {
            if !names.contains(&r) {
                names.push(r);
            }
        }
        names.sort();
        let mut out = Vec::new();
        for r in names {
            let ns = Ns { session: session.to_string(), resource: r.clone() };
            let reply = self.call(&self.scripts.count, &ns, &[])?;
            out.push((r, field(&reply, 1).parse().unwrap_or(0)));
        }
        Ok(out)
    }

    fn dump(&self) -> Vec<(Ns, Vec<Record>)> {
        let sessions: Vec<String> = self.pool.run(|c| redis::cmd("SMEMBERS").arg(self.sessions_key()).query(c)).unwrap_or_default();
        let mut out = Vec::new();
        for s in sessions.iter().map(|s| unesc(s)) {
            for r in self.resources_of(&s).unwrap_or_default() {
                let ns = Ns { session: s.clone(), resource: r };
                if let Ok(page) = self.list(&ns, &|_| true, 0, usize::MAX) {
                    out.push((ns, page.records));
                }
            }
        }
        out.sort_by(|a, b| (&a.0.session, &a.0.resource).cmp(&(&b.0.session, &b.0.resource)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_escape_so_that_segments_never_collide() {
        assert_eq!(esc("a:b%"), "a%3Ab%25");
        assert_eq!(unesc(&esc("a:b%3A")), "a:b%3A");
    }

    #[test]
    fn stored_records_keep_version_and_sequence() {
        let r = Record { id: "x".into(), version: 7, seq: 3, scope: vec![], data: json!({"n": 1.50}) };
        let stored = format!("7 3 {}", encode(&r));
        assert_eq!(decode(&stored).unwrap(), r);
        assert!(decode("garbage").is_err());
    }

    #[test]
    fn unique_pairs_skip_empty_values() {
        let r = Record { id: "x".into(), version: 1, seq: 1, scope: vec![], data: json!({"a": "k", "b": "", "c": null}) };
        let fields = ["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(unique_pairs(&r, &fields), vec!["a\x1f\"k\"".to_string()]);
        assert_eq!(split_pair("a\x1f\"k\""), ("a".to_string(), "\"k\"".to_string()));
    }

    #[test]
    fn a_malformed_url_is_a_clear_error() {
        let e = Pool::connect("http://nope", Duration::from_secs(1)).err().unwrap();
        assert!(e.contains("not a Redis URL"), "{e}");
    }
}
