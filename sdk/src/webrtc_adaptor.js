// Tern's browser SDK entry point; the implementation lands with the SDK issue.
export class WebRTCAdaptor {}
