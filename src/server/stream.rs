//! A connection's socket: TCP, or a Unix domain socket (`listen(path)`). Both are driven the
//! same way: readiness from tokio, reads and writes without waiting.

use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};

use tokio::io::Interest;
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

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
