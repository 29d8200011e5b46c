//! [`Chunks`]: a response body sent as the pieces it was written in.
//! `/metrics` of a fleet is tens of megabytes written family by family;
//! joining them into one string first would copy all of it, and fault in as
//! much fresh memory again, on every scrape.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};

pub struct Chunks {
    rest: std::vec::IntoIter<String>,
    /// Bytes not sent yet, for the `Content-Length` hyper writes.
    left: u64,
}

impl Chunks {
    pub fn new(chunks: Vec<String>) -> Chunks {
        let left = chunks.iter().map(|c| c.len() as u64).sum();
        Chunks {
            rest: chunks.into_iter(),
            left,
        }
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        // A string becomes its bytes without a copy.
        let next = self.rest.find(|c| !c.is_empty()).map(Bytes::from);
        if let Some(chunk) = &next {
            self.left -= chunk.len() as u64;
        }
        Poll::Ready(next.map(|c| Ok(Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn the_pieces_arrive_in_order_with_their_length_known() {
        let body = Chunks::new(vec!["# HELP a\n".into(), String::new(), "a 1\n".into()]);
        assert_eq!(body.size_hint().exact(), Some(13));
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"# HELP a\na 1\n");
    }
}
