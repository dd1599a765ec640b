// A parser for the Server-Sent Events stream format (HTML Living Standard,
// "Parsing an event stream"), fed text in chunks of any size. EventSource
// cannot send an Authorization header, so the app reads the stream with
// fetch() and parses it here.

export class SSEParser {
  constructor() {
    this.buffer = "";
    this.skipLF = false; // the previous chunk ended with CR
    this.type = "";
    this.data = [];
    this.lastId = "";
    this.retry = null;
  }

  // push parses a chunk and returns the events it completed, each
  // {type, data, id}.
  push(chunk) {
    const events = [];
    let text = chunk;
    if (this.skipLF && text.startsWith("\n")) {
      text = text.slice(1);
    }
    this.skipLF = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") {
        continue;
      }
      const line = this.buffer.slice(start, i);
      if (c === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") {
            i++;
          }
        } else {
          this.skipLF = true;
        }
      }
      start = i + 1;
      const ev = this.line(line);
      if (ev) {
        events.push(ev);
      }
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  line(line) {
    if (line === "") {
      if (this.data.length === 0) {
        this.type = "";
        return null;
      }
      const ev = { type: this.type || "message", data: this.data.join("\n"), id: this.lastId };
      this.type = "";
      this.data = [];
      return ev;
    }
    if (line.startsWith(":")) {
      return null;
    }
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon >= 0) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) {
        value = value.slice(1);
      }
    }
    switch (field) {
      case "event":
        this.type = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) {
          this.lastId = value;
        }
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) {
          this.retry = Number(value);
        }
        break;
    }
    return null;
  }
}
