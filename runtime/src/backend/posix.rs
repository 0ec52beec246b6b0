//! The portable backend on crate `polling` (epoll on Linux).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use polling::{Events, Poller};

use super::{Backend, Waker};

pub(crate) struct PosixBackend {
    poller: Arc<Poller>,
    events: Events,
    registered: usize,
}

impl PosixBackend {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(PosixBackend {
            poller: Arc::new(Poller::new()?),
            events: Events::new(),
            registered: 0,
        })
    }
}

struct PollerWaker(Arc<Poller>);

impl Waker for PollerWaker {
    fn wake(&self) {
        if let Err(e) = self.0.notify() {
            tracing::error!(error = %e, "weft: failed to wake a parked scheduler");
        }
    }
}

impl Backend for PosixBackend {
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.events.clear();
        self.poller.wait(&mut self.events, timeout)?;
        Ok(())
    }

    fn waker(&self) -> Arc<dyn Waker> {
        Arc::new(PollerWaker(self.poller.clone()))
    }

    fn has_pending_io(&self) -> bool {
        self.registered > 0
    }
}
