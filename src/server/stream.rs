//! A connection's socket: TCP, or a Unix domain socket (`listen(path)`). Both are driven the
//! same way: readiness from tokio, reads and writes without waiting.

use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};

use std::net::SocketAddr;
use std::task::{Context, Poll};

#[cfg(target_os = "linux")]
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
#[cfg(not(target_os = "linux"))]
use tokio::net::TcpListener;
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};

/// A listening socket of either kind.
pub(crate) enum Listener {
    /// On Linux the listener is accepted from directly (see `accept_tcp`).
    #[cfg(target_os = "linux")]
    Tcp(AsyncFd<socket2::Socket>),
    #[cfg(not(target_os = "linux"))]
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl Listener {
    /// A non-blocking bound TCP listener, registered with the current runtime.
    pub fn tcp(listener: std::net::TcpListener) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        // SAFETY: the socket owns its descriptor, which stays open and the same until the
        // AsyncFd drops it. Called inside the runtime (the accept task), so a reactor exists.
        return unsafe {
            AsyncFd::register_with_interest(socket2::Socket::from(listener), Interest::READABLE)
        }
        .map(Self::Tcp)
        .map_err(|e| e.into_parts().1);
        #[cfg(not(target_os = "linux"))]
        return TcpListener::from_std(listener).map(Self::Tcp);
    }

    /// The bound address of a TCP listener (connections inherit it unless it is a wildcard).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            #[cfg(target_os = "linux")]
            Self::Tcp(l) => l.get_ref().local_addr().ok()?.as_socket(),
            #[cfg(not(target_os = "linux"))]
            Self::Tcp(l) => l.local_addr().ok(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

    /// The next connection and its peer address (none for a Unix socket, as in Node).
    pub async fn accept(&self) -> io::Result<(ConnStream, Option<SocketAddr>)> {
        match self {
            #[cfg(target_os = "linux")]
            Self::Tcp(l) => accept_tcp(l).await,
            #[cfg(not(target_os = "linux"))]
            Self::Tcp(l) => l
                .accept()
                .await
                .map(|(s, peer)| (ConnStream::Tcp(s), Some(peer))),
            #[cfg(unix)]
            Self::Unix(l) => l.accept().await.map(|(s, _)| (ConnStream::Unix(s), None)),
        }
    }
}

/// Accepts like libuv: `accept4` with the descriptor made non-blocking in the same call, and the
/// connection registered as not yet readable, so its first read waits for the readiness event.
/// tokio's own `accept` marks a new connection readable at once, which costs a `recv` that finds
/// nothing whenever the client has not sent its request yet (most connections under load).
#[cfg(target_os = "linux")]
async fn accept_tcp(
    listener: &AsyncFd<socket2::Socket>,
) -> io::Result<(ConnStream, Option<SocketAddr>)> {
    loop {
        let mut ready = listener.readable().await?;
        let accepted = ready.try_io(|l| {
            l.get_ref()
                .accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)
        });
        if let Ok(result) = accepted {
            let (socket, peer) = result?;
            let stream = TcpStream::from_std(std::net::TcpStream::from(socket))?;
            return Ok((ConnStream::Tcp(stream), peer.as_socket()));
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

    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write_vectored(bufs),
            #[cfg(unix)]
            Self::Unix(s) => s.try_write_vectored(bufs),
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

    /// Ready when the socket is readable (or at its EOF); only the latest caller's waker is
    /// kept, which is all the connection task needs.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            #[cfg(unix)]
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }

    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_write_ready(cx),
            #[cfg(unix)]
            Self::Unix(s) => s.poll_write_ready(cx),
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

    /// The kernel holds bytes from the peer that nobody has read (a close now is a reset).
    pub fn has_unread_input(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
        matches!(self.sock().peek(&mut byte), Ok(n) if n > 0)
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
