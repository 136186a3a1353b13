//! A connection's socket: TCP, or a Unix domain socket (`listen(path)`). Both are driven the
//! same way: readiness from tokio, reads and writes without waiting.

use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};

use std::net::SocketAddr;

use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};

/// A listening socket of either kind.
pub(crate) enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl Listener {
    /// The bound address of a TCP listener (connections inherit it unless it is a wildcard).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

    /// The next connection and its peer address (none for a Unix socket, as in Node).
    pub async fn accept(&self) -> io::Result<(ConnStream, Option<SocketAddr>)> {
        match self {
            Self::Tcp(l) => l
                .accept()
                .await
                .map(|(s, peer)| (ConnStream::Tcp(s), Some(peer))),
            #[cfg(unix)]
            Self::Unix(l) => l.accept().await.map(|(s, _)| (ConnStream::Unix(s), None)),
        }
    }
}

pub(crate) enum ConnStream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl ConnStream {
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.try_write(buf),
        }
    }

    pub fn try_io<R>(
        &self,
        interest: Interest,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        match self {
            Self::Tcp(s) => s.try_io(interest, f),
            #[cfg(unix)]
            Self::Unix(s) => s.try_io(interest, f),
        }
    }

    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.readable().await,
            #[cfg(unix)]
            Self::Unix(s) => s.readable().await,
        }
    }

    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.writable().await,
            #[cfg(unix)]
            Self::Unix(s) => s.writable().await,
        }
    }

    pub fn set_nodelay(&self, on: bool) {
        if let Self::Tcp(s) = self {
            let _ = s.set_nodelay(on);
        }
    }

    pub fn sock(&self) -> socket2::SockRef<'_> {
        match self {
            Self::Tcp(s) => socket2::SockRef::from(s),
            #[cfg(unix)]
            Self::Unix(s) => socket2::SockRef::from(s),
        }
    }

    pub fn is_tcp(&self) -> bool {
        matches!(self, Self::Tcp(_))
    }
}

#[cfg(unix)]
impl AsFd for ConnStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Unix(s) => s.as_fd(),
        }
    }
}
