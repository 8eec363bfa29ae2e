// lampnet's TUN device for the userspace IPv6 fast path (Linux only): the simulator's lamps and the gateway's board translator, used by ipv6/link/tun.ts.
//
// Why an addon: Node has no API for /dev/net/tun, and a bridge through another process or a socket
// costs most of the throughput (see shared/DESIGN.md). This file does the minimum natively:
// - open a TUN device with IFF_TUN | IFF_NO_PI (raw IPv6 packets, no packet-information prefix),
//   non-blocking;
// - on a uv_poll readable wakeup, read() packets back to back into one receive buffer that JS owns,
//   recording offsets and lengths in two Int32Arrays that JS also owns, until the device is empty or
//   the batch is full, then call JS once with the packet count; repeat (up to kBatchesPerWakeup)
//   while packets keep arriving;
// - write(count): send the outgoing batch (packets described by JS-owned offset/length arrays) with
//   one write() per packet, in one call from JS.
// All buffers are allocated by JS once and kept referenced here, so no per-packet values cross the
// boundary: per batch there is one JS call in each direction.
//
// JS interface (see tun.ts):
//   new TunDevice(name, rxBuf, rxOffs, rxLens, txBuf, txOffs, txLens)
//     name: requested interface name ("lampnet%d" lets the kernel pick the number).
//     Throws an Error with `code` = errno name (EPERM, ENOENT, ...) when the device cannot be opened.
//   .name                 the interface name the kernel gave
//   .start(onBatch)       begin polling; onBatch(count) runs once per batch of received packets
//   .write(count) -> n    write packets 0..count-1 of the outgoing batch; n = packets written
//   .close()              stop polling and close the device (the kernel then removes it)

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

namespace {

// The largest packet read() may deliver; a batch stops when less room than this is left.
constexpr size_t kMaxPacket = 65535;
// Batches read on one readable wakeup before the loop gets its turn back.
constexpr int kBatchesPerWakeup = 8;

struct View {
  uint8_t* bytes = nullptr;
  size_t byteLength = 0;
};

Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error error = Napi::Error::New(env, what + ": " + strerror(err));
  const char* name = err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == ENOENT ? "ENOENT"
                   : err == EBUSY ? "EBUSY" : err == EINVAL ? "EINVAL" : "EIO";
  error.Set("code", Napi::String::New(env, name));
  error.Set("errno", Napi::Number::New(env, err));
  return error;
}

class TunDevice : public Napi::ObjectWrap<TunDevice> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "TunDevice", {
      InstanceAccessor<&TunDevice::GetName>("name"),
      InstanceMethod<&TunDevice::Start>("start"),
      InstanceMethod<&TunDevice::Write>("write"),
      InstanceMethod<&TunDevice::Close>("close"),
    });
    exports.Set("TunDevice", ctor);
    return exports;
  }

  TunDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TunDevice>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 7 || !info[0].IsString()) {
      Napi::TypeError::New(env, "TunDevice(name, rxBuf, rxOffs, rxLens, txBuf, txOffs, txLens) expected")
          .ThrowAsJavaScriptException();
      return;
    }
    size_t rxOffsLen = 0, rxLensLen = 0, txOffsLen = 0, txLensLen = 0;
    if (!TakeBytes(info[1], rx_, rxRef_, "rxBuf") || !TakeInts(info[2], rxOffs_, rxOffsLen, rxOffsRef_, "rxOffs") ||
        !TakeInts(info[3], rxLens_, rxLensLen, rxLensRef_, "rxLens") || !TakeBytes(info[4], tx_, txRef_, "txBuf") ||
        !TakeInts(info[5], txOffs_, txOffsLen, txOffsRef_, "txOffs") ||
        !TakeInts(info[6], txLens_, txLensLen, txLensRef_, "txLens")) {
      return;
    }
    rxSlots_ = rxOffsLen < rxLensLen ? rxOffsLen : rxLensLen;
    txSlots_ = txOffsLen < txLensLen ? txOffsLen : txLensLen;

    std::string requested = info[0].As<Napi::String>().Utf8Value();
    if (requested.size() >= IFNAMSIZ) {
      Napi::Error::New(env, "TUN device name \"" + requested + "\" is longer than " +
                       std::to_string(IFNAMSIZ - 1) + " characters").ThrowAsJavaScriptException();
      return;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      ErrnoError(env, "opening /dev/net/tun", errno).ThrowAsJavaScriptException();
      return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    strncpy(ifr.ifr_name, requested.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      close(fd);
      ErrnoError(env, "creating TUN device \"" + requested + "\"", err).ThrowAsJavaScriptException();
      return;
    }
    fd_ = fd;
    name_ = ifr.ifr_name;
  }

  ~TunDevice() override { Shutdown(); }

 private:
  bool TakeBytes(Napi::Value value, View& view, Napi::ObjectReference& ref, const char* what) {
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(Env(), std::string(what) + " must be a Uint8Array").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint8Array array = value.As<Napi::Uint8Array>();
    view.bytes = array.Data();
    view.byteLength = array.ByteLength();
    ref = Napi::Persistent(array.As<Napi::Object>());
    return true;
  }

  bool TakeInts(Napi::Value value, int32_t*& data, size_t& length, Napi::ObjectReference& ref, const char* what) {
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      Napi::TypeError::New(Env(), std::string(what) + " must be an Int32Array").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Int32Array array = value.As<Napi::Int32Array>();
    data = array.Data();
    length = array.ElementLength();
    ref = Napi::Persistent(array.As<Napi::Object>());
    return true;
  }

  Napi::Value GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || poll_ != nullptr) {
      Napi::Error::New(env, "TUN device is closed or already started").ThrowAsJavaScriptException();
      return;
    }
    if (info.Length() != 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "start(onBatch) expects a function").ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
      Napi::Error::New(env, "no libuv loop").ThrowAsJavaScriptException();
      return;
    }
    onBatch_ = Napi::Persistent(info[0].As<Napi::Function>());
    poll_ = new uv_poll_t;
    poll_->data = this;
    uv_poll_init(loop, poll_, fd_);
    uv_poll_start(poll_, UV_READABLE, OnReadable);
    Ref();  // the device stays alive while the loop polls it
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    TunDevice* self = static_cast<TunDevice*>(handle->data);
    if (status < 0 || self->fd_ < 0) return;
    // Requests that arrived while JS answered a batch are read at once, without another trip
    // through epoll (a closed-loop sender's next requests are already waiting by then); bounded so
    // the loop's other handles still get a turn under a flood. Alternating runs: +6–12% echo
    // replies/s, less than the run-to-run spread (bench/ANALYSIS.md).
    for (int i = 0; i < kBatchesPerWakeup && self->fd_ >= 0; i++) {
      if (!self->ReadBatch()) break;
    }
  }

  /** Reads the packets waiting (up to a batch) and hands them to JS; false when there were none. */
  bool ReadBatch() {
    size_t used = 0;
    int32_t count = 0;
    while (static_cast<size_t>(count) < rxSlots_ && used < rx_.byteLength) {
      size_t room = rx_.byteLength - used;
      if (count > 0 && room < kMaxPacket) break;
      ssize_t n = read(fd_, rx_.bytes + used, room < kMaxPacket ? room : kMaxPacket);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN: the device is empty; anything else: try again on the next wakeup
      }
      rxOffs_[count] = static_cast<int32_t>(used);
      rxLens_[count] = static_cast<int32_t>(n);
      count++;
      used += static_cast<size_t>(n);
    }
    if (count == 0) return false;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    onBatch_.MakeCallback(env.Global(), {Napi::Number::New(env, count)});
    return true;
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "write(count) expects a number").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    int64_t count = info[0].As<Napi::Number>().Int64Value();
    if (count < 0 || static_cast<size_t>(count) > txSlots_) count = 0;
    int32_t written = 0;
    if (fd_ >= 0) {
      for (int64_t i = 0; i < count; i++) {
        int64_t off = txOffs_[i], len = txLens_[i];
        if (off < 0 || len <= 0 || static_cast<size_t>(off + len) > tx_.byteLength) continue;
        ssize_t n;
        do n = write(fd_, tx_.bytes + off, static_cast<size_t>(len)); while (n < 0 && errno == EINTR);
        if (n == len) written++;
      }
    }
    return Napi::Number::New(env, written);
  }

  void Close(const Napi::CallbackInfo& /*info*/) {
    bool polling = poll_ != nullptr;
    Shutdown();
    if (polling) Unref();
  }

  void Shutdown() {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  int fd_ = -1;
  std::string name_;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onBatch_;
  View rx_, tx_;
  int32_t* rxOffs_ = nullptr;
  int32_t* rxLens_ = nullptr;
  int32_t* txOffs_ = nullptr;
  int32_t* txLens_ = nullptr;
  size_t rxSlots_ = 0, txSlots_ = 0;
  Napi::ObjectReference rxRef_, rxOffsRef_, rxLensRef_, txRef_, txOffsRef_, txLensRef_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { return TunDevice::Init(env, exports); }

}  // namespace

NODE_API_MODULE(lampnet_tun, Init)
