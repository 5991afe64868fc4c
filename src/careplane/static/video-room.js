// The video visit's call (Virtual Care): a two-person WebRTC room. The page's #video-room element
// names the signalling socket (data-signal) and the ICE servers (data-ice, JSON); the server relays
// the offer, answer and ICE candidates between the visit's two people, and the media goes browser
// to browser. The clinician's side makes the offer (the server says so in its "ready" message).
// #call-status says where the call is: ... "connected" once the peer connection is connected.
(() => {
  "use strict";
  const root = document.getElementById("video-room");
  if (!root) return;
  const statusEl = document.getElementById("call-status");
  const localVideo = document.getElementById("local-video");
  const remoteVideo = document.getElementById("remote-video");
  const leaveButton = document.getElementById("leave-call");
  const iceServers = JSON.parse(root.dataset.ice || "[]");
  let local = null;
  let peer = null;
  let socket = null;
  let waiting = []; // ICE candidates that came before the remote description
  let left = false;

  const setStatus = (text) => {
    statusEl.textContent = text;
    root.dataset.state = text;
  };
  const send = (message) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };

  const closePeer = () => {
    if (peer) peer.close();
    peer = null;
    waiting = [];
    remoteVideo.srcObject = null;
  };

  const newPeer = (offerer) => {
    closePeer();
    const connection = new RTCPeerConnection({ iceServers });
    peer = connection;
    if (local) local.getTracks().forEach((track) => connection.addTrack(track, local));
    connection.onicecandidate = (event) => {
      if (event.candidate) send({ type: "candidate", candidate: event.candidate.toJSON() });
    };
    connection.ontrack = (event) => {
      remoteVideo.srcObject = event.streams[0] || new MediaStream([event.track]);
    };
    connection.onconnectionstatechange = () => {
      if (peer !== connection) return;
      const state = connection.connectionState;
      if (state === "connected") setStatus("connected");
      else if (state === "failed") setStatus("the connection failed; reload the page to try again");
      else if (state === "disconnected") setStatus("reconnecting");
    };
    if (offerer) {
      connection.createDataChannel("call"); // ICE runs even when no camera could be opened
      connection
        .createOffer()
        .then((offer) => connection.setLocalDescription(offer))
        .then(() => send({ type: "offer", sdp: connection.localDescription.toJSON() }));
    }
    return connection;
  };

  const flush = (connection) => {
    const early = waiting;
    waiting = [];
    return Promise.all(early.map((c) => connection.addIceCandidate(c)));
  };

  const handle = (message) => {
    if (message.type === "ready") {
      setStatus("connecting");
      newPeer(message.offerer);
    } else if (message.type === "offer") {
      const connection = peer || newPeer(false);
      connection
        .setRemoteDescription(message.sdp)
        .then(() => connection.createAnswer())
        .then((answer) => connection.setLocalDescription(answer))
        .then(() => send({ type: "answer", sdp: connection.localDescription.toJSON() }))
        .then(() => flush(connection));
    } else if (message.type === "answer" && peer) {
      const connection = peer;
      connection.setRemoteDescription(message.sdp).then(() => flush(connection));
    } else if (message.type === "candidate" && message.candidate) {
      if (peer && peer.remoteDescription) peer.addIceCandidate(message.candidate);
      else waiting.push(message.candidate);
    } else if (message.type === "peer-left" || message.type === "bye") {
      closePeer();
      setStatus("waiting for the other person");
    }
  };

  const connect = () => {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.signal);
    socket.onopen = () => setStatus("waiting for the other person");
    socket.onmessage = (event) => handle(JSON.parse(event.data));
    socket.onclose = (event) => {
      closePeer();
      if (left) return;
      if (event.code === 4403) setStatus("refused: " + (event.reason || "you may not join this call"));
      else if (event.code === 4409) setStatus("this call is open on another page");
      else setStatus("disconnected; reload the page to join again");
    };
  };

  leaveButton.addEventListener("click", () => {
    left = true;
    send({ type: "bye" });
    closePeer();
    if (socket) socket.close();
    if (local) local.getTracks().forEach((track) => track.stop());
    setStatus("you left the call");
    leaveButton.disabled = true;
  });

  setStatus("opening your camera");
  navigator.mediaDevices
    .getUserMedia({ audio: true, video: true })
    .then((stream) => {
      local = stream;
      localVideo.srcObject = stream;
    })
    .catch(() => setStatus("no camera or microphone; joining without them"))
    .finally(connect);
})();
