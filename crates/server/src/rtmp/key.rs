//! The publish name an encoder sends, Ant Media's way: the stream id, then
//! the token and other credentials as a query (`stream1?token=...`), since
//! OBS has one "stream key" box for all of it. Some encoders put the query on
//! the application instead (`rtmp://host/App?token=.../stream1`).

use std::collections::HashMap;

/// A parsed publish name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamKey {
    pub stream_id: String,
    pub token: Option<String>,
    pub query: HashMap<String, String>,
}

/// Splits `name?a=b&c=d` into the name and its query (later keys win).
pub fn split(raw: &str) -> (&str, HashMap<String, String>) {
    let (name, query) = raw.split_once('?').unwrap_or((raw, ""));
    let pairs = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (name, pairs)
}

/// The publish name, with the application's query as a fallback.
pub fn parse(app_query: &HashMap<String, String>, raw: &str) -> StreamKey {
    let (name, own) = split(raw);
    let mut query = app_query.clone();
    query.extend(own);
    StreamKey {
        stream_id: name.to_owned(),
        token: query.get("token").cloned(),
        query,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_in_the_key_or_on_the_app() {
        let k = parse(&HashMap::new(), "cam1?token=abc&subscriberId=u1");
        assert_eq!(k.stream_id, "cam1");
        assert_eq!(k.token.as_deref(), Some("abc"));
        assert_eq!(k.query["subscriberId"], "u1");
        let (app, q) = split("LiveApp?token=fromapp");
        assert_eq!(app, "LiveApp");
        let k = parse(&q, "cam1");
        assert_eq!(k.token.as_deref(), Some("fromapp"));
        let k = parse(&q, "cam1?token=own");
        assert_eq!(k.token.as_deref(), Some("own"));
        assert_eq!(parse(&HashMap::new(), "x?").token, None);
    }
}
