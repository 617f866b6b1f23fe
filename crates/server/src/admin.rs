//! Operator actions on live streams, carried from REST to the hub task so that
//! they are ordered with the sessions' messages.

use std::time::Instant;

use tern_core::{Core, LiveStream};
use tern_signal::StreamInfo;
use tokio::sync::{mpsc, oneshot};

use crate::hub::HubMsg;

/// One operator action and where its answer goes.
pub struct AdminRequest {
    pub app: String,
    pub stream_id: String,
    pub action: AdminAction,
}

pub enum AdminAction {
    /// End the stream; answers whether it was published.
    Stop(oneshot::Sender<bool>),
    /// End the stream only if its publisher dropped and none came back;
    /// answers whether it ended.
    EndOrphaned(oneshot::Sender<bool>),
    /// The live stream's renditions; `None` when it is not live.
    StreamInfo(oneshot::Sender<Option<Vec<StreamInfo>>>),
    /// Write a text message to every player; answers how many, or `None` when
    /// the stream is not live.
    Data(Vec<u8>, oneshot::Sender<Option<usize>>),
    /// The live stream with its players' figures; `None` when it is not live.
    Live(oneshot::Sender<Option<LiveStream>>),
}

/// Runs on the hub task.
pub fn handle(core: &mut Core, now: Instant, req: AdminRequest) {
    match req.action {
        AdminAction::Stop(reply) => {
            let _ = reply.send(core.stop_stream(now, &req.app, &req.stream_id));
        }
        AdminAction::EndOrphaned(reply) => {
            let _ = reply.send(core.end_orphaned(now, &req.app, &req.stream_id));
        }
        AdminAction::StreamInfo(reply) => {
            let _ = reply.send(core.live_stream_info(&req.app, &req.stream_id));
        }
        AdminAction::Data(data, reply) => {
            let _ = reply.send(core.send_data(&req.app, &req.stream_id, false, &data));
        }
        AdminAction::Live(reply) => {
            let _ = reply.send(core.live_stream(&req.app, &req.stream_id));
        }
    }
}

/// Why the hub did not answer: it is stopping.
#[derive(Debug)]
pub struct HubGone;

/// Asks the hub to stop `app`/`stream_id`.
pub async fn stop(hub: &mpsc::Sender<HubMsg>, app: &str, stream_id: &str) -> Result<bool, HubGone> {
    let (tx, rx) = oneshot::channel();
    send(hub, app, stream_id, AdminAction::Stop(tx)).await?;
    rx.await.map_err(|_| HubGone)
}

/// Asks the hub to end `app`/`stream_id` if it waits for a dropped publisher.
pub async fn end_orphaned(
    hub: &mpsc::Sender<HubMsg>,
    app: &str,
    stream_id: &str,
) -> Result<bool, HubGone> {
    let (tx, rx) = oneshot::channel();
    send(hub, app, stream_id, AdminAction::EndOrphaned(tx)).await?;
    rx.await.map_err(|_| HubGone)
}

/// Asks the hub to send `data` to every player of `app`/`stream_id`.
pub async fn data(
    hub: &mpsc::Sender<HubMsg>,
    app: &str,
    stream_id: &str,
    data: Vec<u8>,
) -> Result<Option<usize>, HubGone> {
    let (tx, rx) = oneshot::channel();
    send(hub, app, stream_id, AdminAction::Data(data, tx)).await?;
    rx.await.map_err(|_| HubGone)
}

/// Asks the hub for the renditions of `app`/`stream_id`.
pub async fn stream_info(
    hub: &mpsc::Sender<HubMsg>,
    app: &str,
    stream_id: &str,
) -> Result<Option<Vec<StreamInfo>>, HubGone> {
    let (tx, rx) = oneshot::channel();
    send(hub, app, stream_id, AdminAction::StreamInfo(tx)).await?;
    rx.await.map_err(|_| HubGone)
}

/// Asks the hub for `app`/`stream_id` with its players' figures.
pub async fn live(
    hub: &mpsc::Sender<HubMsg>,
    app: &str,
    stream_id: &str,
) -> Result<Option<LiveStream>, HubGone> {
    let (tx, rx) = oneshot::channel();
    send(hub, app, stream_id, AdminAction::Live(tx)).await?;
    rx.await.map_err(|_| HubGone)
}

/// Every live stream of the node, for the console.
pub async fn all_live(hub: &mpsc::Sender<HubMsg>) -> Result<Vec<LiveStream>, HubGone> {
    let (tx, rx) = oneshot::channel();
    hub.send(HubMsg::Live(tx)).await.map_err(|_| HubGone)?;
    rx.await.map_err(|_| HubGone)
}

async fn send(
    hub: &mpsc::Sender<HubMsg>,
    app: &str,
    stream_id: &str,
    action: AdminAction,
) -> Result<(), HubGone> {
    let req = AdminRequest {
        app: app.to_owned(),
        stream_id: stream_id.to_owned(),
        action,
    };
    hub.send(HubMsg::Admin(req)).await.map_err(|_| HubGone)
}
