//! One shutdown signal every task can await. Binaries pass [`Shutdown::on_signal`] as the
//! future that ends them; tests pass their own trigger. Cloning a [`Shutdown`] is cheap and every
//! clone sees the same signal.

use std::future::Future;
use tokio::sync::watch;

/// A cloneable "stop now" flag that can be awaited.
#[derive(Clone, Debug)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// The side that fires the signal.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger { sender }, Shutdown { receiver })
    }

    /// A signal fired by SIGINT or SIGTERM.
    pub fn on_signal() -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown signal received");
            trigger.fire();
        });
        shutdown
    }

    /// A signal fired when `future` completes.
    pub fn when<F: Future<Output = ()> + Send + 'static>(future: F) -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            future.await;
            trigger.fire();
        });
        shutdown
    }

    pub fn is_fired(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once the signal fires (or its trigger is dropped).
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        // An error means the trigger is gone, which also means nobody will keep us running.
        let _ = receiver.wait_for(|fired| *fired).await;
    }
}

impl ShutdownTrigger {
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops this process");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
