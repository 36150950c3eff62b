//! Thread-per-core serving. Each HTTP thread runs its own single-threaded tokio runtime with its
//! own listener on the shared port (`SO_REUSEPORT`: the kernel spreads connections across them),
//! like nginx's workers. A request is then read, answered and written by one thread with no
//! cross-thread wake-ups; with tokio's shared multi-thread scheduler those hand-offs, not CPU,
//! limited throughput (measured: less CPU per request than nginx, half its requests per second
//! on a busy 2-core machine). The read path's connections (Redis, the PostgreSQL pools) are
//! [`PerWorker`]: each thread talks to Redis and PostgreSQL over connections its own runtime
//! drives, so a cache miss wakes no other thread either (measured on the miss path: a second
//! HTTP thread sharing one set of connections served fewer requests than one thread alone).
//! Memory (the near cache, request coalescing), metrics and health checks are shared.

use crate::http;
use anyhow::Context;
use pipeline_runtime::shutdown::Shutdown;
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// Pending connections per listener.
const BACKLOG: u32 = 1024;

thread_local! {
    /// This HTTP thread's index; 0 on any other thread (start-up, admin, tests).
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// One value per HTTP thread (connections its runtime drives); [`PerWorker::current`] is the
/// calling thread's.
pub struct PerWorker<T> {
    items: Box<[T]>,
}

impl<T> PerWorker<T> {
    /// One item per HTTP thread, in thread order; at least one.
    pub fn new(items: Vec<T>) -> anyhow::Result<Self> {
        anyhow::ensure!(!items.is_empty(), "no per-thread items");
        Ok(Self {
            items: items.into_boxed_slice(),
        })
    }

    /// The calling HTTP thread's item (the first one off the HTTP threads).
    pub fn current(&self) -> &T {
        &self.items[self.current_index()]
    }

    /// The index of the calling HTTP thread's item, for a task that must keep using the item
    /// of the thread that started it ([`PerWorker::at`]).
    pub fn current_index(&self) -> usize {
        WORKER.with(Cell::get) % self.items.len()
    }

    /// The item at `index` (taken modulo the number of items).
    pub fn at(&self, index: usize) -> &T {
        &self.items[index % self.items.len()]
    }

    /// Every thread's item, in thread order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// One new item per thread, made from each existing one.
    pub fn map<U>(&self, make: impl FnMut(&T) -> U) -> PerWorker<U> {
        PerWorker {
            items: self.items.iter().map(make).collect(),
        }
    }

    /// The first thread's item, for what is not per request (health, sizes).
    pub fn first(&self) -> &T {
        &self.items[0]
    }
}

/// `threads` listeners on `addr` (port 0: a free port, the same for all). Call inside a runtime.
pub fn bind(addr: SocketAddr, threads: usize) -> anyhow::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut listeners = Vec::with_capacity(threads.max(1));
    for _ in 0..threads.max(1) {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(BACKLOG)?.into_std()?;
        // The others bind the port the first one got.
        addr = listener.local_addr()?;
        listeners.push(listener);
    }
    Ok(listeners)
}

/// Serves on every listener, one thread each, until `shutdown` fires and all have finished.
/// Each thread builds its own routes with `routes` (and its own [`http::Front`]): what a request
/// clones — the state's and the filters' reference counts — is then that thread's alone, not
/// a cache line both cores write on every request.
pub async fn run(
    listeners: Vec<std::net::TcpListener>,
    routes: impl Fn() -> BoxedFilter<(Response,)> + Clone + Send + 'static,
    front: http::Front,
    shutdown: Shutdown,
    settings: http::ServerSettings,
) -> anyhow::Result<()> {
    // Connections in the shared pools are driven by the runtime that opened them, so no runtime
    // may stop while another still serves: each waits here for all before it is dropped.
    let all_stopped = Arc::new(tokio::sync::Barrier::new(listeners.len()));
    let mut finished = Vec::with_capacity(listeners.len());
    for (index, listener) in listeners.into_iter().enumerate() {
        let (done, result) = tokio::sync::oneshot::channel();
        let (routes, front, shutdown) = (routes.clone(), front.clone(), shutdown.clone());
        let all_stopped = Arc::clone(&all_stopped);
        std::thread::Builder::new()
            .name(format!("http-{index}"))
            .spawn(move || {
                WORKER.with(|worker| worker.set(index));
                let served = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start an HTTP runtime")
                    .and_then(|runtime| {
                        runtime.block_on(async {
                            let served =
                                http::serve(listener, routes(), front, shutdown, settings).await;
                            all_stopped.wait().await;
                            served
                        })
                    });
                let _ = done.send(served);
            })
            .context("cannot start an HTTP thread")?;
        finished.push(result);
    }
    for result in finished {
        result
            .await
            .map_err(|_| anyhow::anyhow!("an HTTP thread panicked"))??;
    }
    Ok(())
}
