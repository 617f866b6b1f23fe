//! Simulcast for the players of a stream: each track's layer chosen from the
//! player's bandwidth estimate or pinned by the page (`selector`), switched
//! on a keyframe of the new layer (`switch`), checked periodically (`choice`); an estimate
//! that stopped moving is restarted (`stuck_estimate`).

pub mod choice;
pub mod selector;
pub mod stuck_estimate;
pub mod switch;
