// Writes the seed inputs of every fuzz target into <corpus>/<target>/seed-<what>, using
// the codecs' own encoders where there are some (hand-written bytes where the point is a
// malformed input). Deterministic: running it again rewrites the same files. Built in
// the fuzz build only (`make fuzz-seeds` runs it); its output is committed with the corpus.
//
// Usage: fuzz_write_seeds CORPUS_DIR CONFIG_DIR   (CONFIG_DIR: the repository's config/)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "actors/cluster/geo/ship_codec.hpp"
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/durability/batch_codec.hpp"
#include "protocol/compression.hpp"
#include "protocol/wire.hpp"

namespace {

using namespace minivault;
namespace fs = std::filesystem;
using namespace std::string_literals;

fs::path corpus;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(corpus / target);
  std::ofstream(corpus / target / ("seed-" + name), std::ios::binary) << bytes;
}

std::string u16(std::uint16_t v) {
  char b[2];
  wire::store_u16(b, v);
  return std::string(b, 2);
}

/// "not found" -> "not-found"
std::string slug(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if (c == ' ') c = '-';
  return s;
}

void wire_request_seeds() {
  using wire::opcode;
  std::string all;
  auto frame = [&](const std::string& name, opcode op, const std::string& key,
                   const std::string& value = {}, bool compressed = false) {
    std::string f;
    wire::append_request(f, op, key, value, compressed);
    seed("wire_request", name, f);
    all += f;
  };
  frame("get", opcode::get, "user:1");
  frame("set", opcode::set, "user:1", R"({"name":"ada"})");
  frame("set-compressed", opcode::set, "big", zstd_compress(std::string(300, 'v') + "tail"), true);
  // Inflates (2 MiB) past the target's bound (64 KiB): refused as too_large.
  frame("set-bomb", opcode::set, "bomb", zstd_compress(std::string(2u << 20, '\0')), true);
  frame("set-not-zstd", opcode::set, "k", "not zstd", true);
  frame("del", opcode::del, "user:1");
  frame("health", opcode::health, "");
  frame("auth", opcode::auth, "s3cret");
  frame("qget", opcode::qget, "user:1");
  frame("empty-key", opcode::get, "");
  seed("wire_request", "pipeline", all);
  seed("wire_request", "truncated-set", all.substr(0, 3 + 6 + 5 + 4));
  seed("wire_request", "unknown-opcode", "\x04\x01\x00k"s);
  seed("wire_request", "bad-flag", "\x02\x01\x00k\x01\x00\x00\x00\x02v"s);
  seed("wire_request", "claims-4gib", "\x02\x01\x00k\xff\xff\xff\xff\x00"s);
}

void wire_reply_seeds() {
  std::string all;
  auto reply = [&](const std::string& name, std::uint8_t status, std::string_view payload) {
    std::string f;
    wire::append_reply(f, status, payload);
    seed("wire_reply", name, f);
    all += f;
  };
  reply("ok-value", wire::status_ok, R"({"name":"ada"})");
  reply("ok-empty", wire::status_ok, "");
  reply("health", wire::status_ok, R"({"status":"ok","node_id":"n1"})");
  for (errc e : {errc::not_found, errc::bad_frame, errc::too_large, errc::unauthorized})
    reply("error-" + slug(to_string(e)), wire::status_error, to_string(e));
  seed("wire_reply", "pipeline", all);
  seed("wire_reply", "truncated", all.substr(0, 9));
  seed("wire_reply", "claims-too-much", "\x00\x00\x10\x00\x00"s);
}

void http_seeds() {
  auto put = [](const std::string& target, const std::string& body, const std::string& extra) {
    return "PUT " + target + " HTTP/1.1\r\nHost: x\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string get = "GET /user%3A1 HTTP/1.1\r\nHost: x\r\n\r\n";
  seed("http_codec", "get", get);
  seed("http_codec", "get-quorum", "GET /k?consistency=quorum HTTP/1.1\r\nHost: x\r\n\r\n");
  seed("http_codec", "head", "HEAD /k HTTP/1.1\r\nHost: x\r\n\r\n");
  seed("http_codec", "put", put("/k", R"({"value":{"a":[1,2.5e3,"x"]}})", ""));
  seed("http_codec", "post-close",
       "POST /k HTTP/1.1\r\nConnection: close\r\nContent-Length: 13\r\n\r\n{\"value\":\"v\"}");
  seed("http_codec", "delete-auth", "DELETE /k HTTP/1.1\r\nAuthorization: Bearer s3cret\r\n\r\n");
  seed("http_codec", "health", "GET /health HTTP/1.1\r\n\r\n");
  seed("http_codec", "metrics", "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  seed("http_codec", "keep-alive-pipeline",
       get + put("/k", R"({"value":1})", "Connection: keep-alive\r\n") +
           "\r\n" + // a blank line between requests is allowed
           "DELETE /k HTTP/1.1\r\nContent-Length: 0\r\n\r\n" + get);
  seed("http_codec", "expect-continue", put("/k", R"({"value":true})", "Expect: 100-continue\r\n"));
  seed("http_codec", "chunked",
       "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  seed("http_codec", "conflicting-length",
       "PUT /k HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n1234");
  seed("http_codec", "http2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  seed("http_codec", "bare-lf", "GET /k HTTP/1.1\nHost: x\n\n");
  seed("http_codec", "bad-json", put("/k", R"({"value":01})", ""));
}

void json_seeds() {
  const char* docs[] = {
      R"({"value":1})",
      R"({"value":"h\u00e9llo \"w\" \\ \/ \b\f\n\r\t"})",
      R"( { "a" : [ true , false , null ] , "value" : { "n" : -0.5E+10 } } )",
      R"({"\u0076alue":[[[[]]]]})",
      R"({"value":1,"value":2})",
      R"({"nested":{"value":1}})",
      R"([1,"two",{"three":3}])",
      "\"\xe6\x97\xa5\xf0\x9f\x98\x80\"",
      R"("\ud83d\ude00")",
      "12345678901234567890123",
      R"({"value":1,})",
      "{'value':1}",
      "\xef\xbb\xbf{}",
      "\xff\xfe binary",
  };
  int i = 0;
  for (const char* d : docs)
    seed("json_text", "doc" + std::to_string(i++), d);
}

void cluster_and_batch_seeds() {
  using kv = storage::engine::key_version;
  std::string kvs;
  pack_key_versions({kv{"alpha", {1, 1}, false}, kv{"b", {0x0123456789abcdefULL, 7}, true},
                     kv{"nul\0key"s, {5, 0}, false}},
                    kvs);
  seed("cluster_codec", "key-versions", kvs);
  std::string digests;
  pack_digests({0, 1, 0xffffffffffffffffULL, 0x0123456789abcdefULL}, digests);
  seed("cluster_codec", "digests", digests);

  client_batch writes; // local writes, as an I/O thread packs them
  pack_write(writes, false, "user:1", R"({"name":"ada"})");
  pack_write(writes, true, "user:2", "");
  versioned_writes versioned; // replicated writes, as a peer or a hint carries them
  pack_versioned_write(versioned, false, "user:1", "v1", {(1700000000000ULL << 16) | 3, 2});
  pack_versioned_write(versioned, true, "user:2", "", {(1700000000001ULL << 16), 1});
  client_batch reads;
  pack_read(reads, "user:1", false);
  pack_read(reads, "user:3", true);
  seed("cluster_codec", "versioned-ops", versioned.ops);
  seed("batch", "writes", u16(static_cast<std::uint16_t>(writes.count)) + writes.ops);
  seed("batch", "versioned", u16(static_cast<std::uint16_t>(versioned.count)) + versioned.ops);
  seed("batch", "reads", u16(static_cast<std::uint16_t>(reads.count)) + reads.ops);
  seed("batch", "count-too-high", u16(3) + versioned.ops);
  // Shipments: [count:u16][mode:u8], then a frame (mode 0) or the ops to frame (mode 1).
  const auto count = u16(static_cast<std::uint16_t>(versioned.count));
  seed("ship_batch", "frame", count + std::string(1, '\0') + pack_ship_batch(versioned).packed);
  seed("ship_batch", "ops", count + std::string(1, '\1') + versioned.ops);
  seed("ship_batch", "reads-refused", u16(2) + std::string(1, '\1') + reads.ops);

  // Hints: [budget:u16] then records [peer:u8][count:u16][len:u16][ops].
  auto record = [](std::uint8_t peer, std::uint32_t count, const std::string& ops) {
    return std::string(1, static_cast<char>(peer)) + u16(static_cast<std::uint16_t>(count)) +
           u16(static_cast<std::uint16_t>(ops.size())) + ops;
  };
  versioned_writes one;
  pack_versioned_write(one, false, "k", "value", {(1700000000002ULL << 16), 3});
  seed("hint", "two-peers",
       u16(64) + record(0, versioned.count, versioned.ops) + record(1, one.count, one.ops) +
           record(0, one.count, one.ops));
  seed("hint", "small-budget", u16(1) + record(2, one.count, one.ops) + record(2, 1, one.ops));
  seed("hint", "bad-count", u16(4096) + record(0, 2, one.ops) + record(0, 0, one.ops));
}

void config_seeds(const fs::path& config_dir) {
  for (const auto& e : fs::directory_iterator(config_dir)) {
    if (e.path().extension() != ".ini") continue;
    std::ifstream in(e.path(), std::ios::binary);
    seed("config", e.path().stem().string(),
         std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  seed("config", "quoted",
       "[minivault]\r\nauth = \"a #b \\\"c\\\\\" ; comment\r\nauthmode = writes\r\n"
       "region = \"eu west\"\r\ndata = /srv/mv # bare value, comment\r\n");
  seed("config", "peers-v6",
       "public-url = [::1]:3001\ncluster-nodes = [::1]:3002, [fe80::1]:3003 ,host:1,host:1\n"
       "replication-factor = 2\nwrite-quorum = 2\ntls-cert = c.pem\ntls-key = k.pem\n");
  seed("config", "errors", "port = 70000\nunknown = 1\nport = 1\nno equals sign\n");
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR CONFIG_DIR\n", argv[0]);
    return 2;
  }
  corpus = argv[1];
  wire_request_seeds();
  wire_reply_seeds();
  http_seeds();
  json_seeds();
  cluster_and_batch_seeds();
  config_seeds(argv[2]);
  return 0;
}
