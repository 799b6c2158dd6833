using System;
using System.Collections.Generic;
using System.Text;
using static RingKV.Server.Commands.CommandArgument;
using static RingKV.Server.Commands.CommandFlags;

namespace RingKV.Server.Commands;

/// <summary>Every command the node knows: dispatch, COMMAND, and the routing of multi-key commands all read it.</summary>
/// <remarks>Immutable after start; lookup by name is case-insensitive and allocates nothing.</remarks>
internal static class CommandTable
{
    /// <summary>Longest command name.</summary>
    private const int MaxNameLength = 32;

    /// <summary>Every command, in the order COMMAND lists them.</summary>
    public static IReadOnlyList<CommandSpec> All { get; } =
    [
        new("get", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.Get(c, w),
            Docs("Get the value of a key", "1.0.0", "string", "O(1)", Key("key"))),
        new("set", -3, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.Set(c, w),
            Docs("Set the string value of a key", "1.0.0", "string", "O(1)", Key("key"), Str("value"), OneOf("condition", Token("NX"), Token("XX")).Optional(), Token("GET").Optional(), OneOf("expiration", Int("seconds", "EX"), Int("milliseconds", "PX"), UnixTime("unix-time-seconds", "EXAT"), UnixTime("unix-time-milliseconds", "PXAT"), Token("KEEPTTL")).Optional())),
        new("setnx", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.SetNx(c, w),
            Docs("Set the value of a key, only if the key does not exist", "1.0.0", "string", "O(1)", Key("key"), Str("value"))),
        new("setex", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetEx(c, w, 1000),
            Docs("Set the value and expiration of a key", "2.0.0", "string", "O(1)", Key("key"), Int("seconds"), Str("value"))),
        new("psetex", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetEx(c, w, 1),
            Docs("Set the value and expiration in milliseconds of a key", "2.6.0", "string", "O(1)", Key("key"), Int("milliseconds"), Str("value"))),
        new("getdel", 2, Write | Fast, 1, 1, 1, static (h, c, w) => h.GetDel(c, w),
            Docs("Get the value of a key and delete the key", "6.2.0", "string", "O(1)", Key("key"))),
        new("getex", -2, Write | Fast, 1, 1, 1, static (h, c, w) => h.GetEx(c, w),
            Docs("Get the value of a key and optionally set its expiration", "6.2.0", "string", "O(1)", Key("key"), OneOf("expiration", Int("seconds", "EX"), Int("milliseconds", "PX"), UnixTime("unix-time-seconds", "EXAT"), UnixTime("unix-time-milliseconds", "PXAT"), Token("PERSIST")).Optional())),
        new("incr", 2, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, 1, hasAmount: false),
            Docs("Increment the integer value of a key by one", "1.0.0", "string", "O(1)", Key("key"))),
        new("decr", 2, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, -1, hasAmount: false),
            Docs("Decrement the integer value of a key by one", "1.0.0", "string", "O(1)", Key("key"))),
        new("incrby", 3, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, 1, hasAmount: true),
            Docs("Increment the integer value of a key by the given amount", "1.0.0", "string", "O(1)", Key("key"), Int("increment"))),
        new("decrby", 3, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, -1, hasAmount: true),
            Docs("Decrement the integer value of a key by the given number", "1.0.0", "string", "O(1)", Key("key"), Int("decrement"))),
        new("incrbyfloat", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.IncrByFloat(c, w),
            Docs("Increment the float value of a key by the given amount", "2.6.0", "string", "O(1)", Key("key"), Dbl("increment"))),
        new("getset", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.GetSet(c, w),
            Docs("Set the string value of a key and return its old value", "1.0.0", "string", "O(1)", Key("key"), Str("value"))),
        new("append", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.Append(c, w),
            Docs("Append a value to a key", "2.0.0", "string", "O(N) where N is the length of the new value", Key("key"), Str("value"))),
        new("strlen", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.StrLen(c, w),
            Docs("Get the length of the value stored in a key", "2.2.0", "string", "O(1)", Key("key"))),
        new("getrange", 4, Read, 1, 1, 1, static (h, c, w) => h.GetRange(c, w),
            Docs("Get a substring of the string stored at a key", "2.4.0", "string", "O(N) where N is the length of the returned string", Key("key"), Int("start"), Int("end"))),
        new("substr", 4, Read, 1, 1, 1, static (h, c, w) => h.GetRange(c, w),
            Docs("Get a substring of the string stored at a key", "1.0.0", "string", "O(N) where N is the length of the returned string", Key("key"), Int("start"), Int("end"))),
        new("setrange", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetRange(c, w),
            Docs("Overwrite part of a string at key starting at the specified offset", "2.2.0", "string", "O(N) where N is the length of the new value", Key("key"), Int("offset"), Str("value"))),
        new("getbit", 3, Read | Fast, 1, 1, 1, static (h, c, w) => h.GetBit(c, w),
            Docs("Returns the bit value at offset in the string value stored at key", "2.2.0", "bitmap", "O(1)", Key("key"), Int("offset"))),
        new("setbit", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetBit(c, w),
            Docs("Sets or clears the bit at offset in the string value stored at key", "2.2.0", "bitmap", "O(1)", Key("key"), Int("offset"), Int("value"))),
        new("bitcount", -2, Read, 1, 1, 1, static (h, c, w) => h.BitCount(c, w),
            Docs("Count set bits in a string", "2.6.0", "bitmap", "O(N)", Key("key"), Block("range", Int("start"), Int("end"), OneOf("unit", Token("BYTE"), Token("BIT")).Optional()).Optional())),
        new("lcs", -3, Read, 1, 2, 1, static (h, c, w) => h.Lcs(c, w),
            Docs("Find longest common substring", "7.0.0", "string", "O(N*M) where N and M are the lengths of s1 and s2, respectively", Key("key1"), Key("key2"), Token("LEN").Optional(), Token("IDX").Optional(), Int("min-match-len", "MINMATCHLEN").Optional(), Token("WITHMATCHLEN").Optional())),
        new("del", -2, Write, 1, -1, 1, static (h, c, w) => h.Del(c, w),
            Docs("Delete a key", "1.0.0", "generic", "O(N) where N is the number of keys that will be removed", Key("key").Multiple())),
        new("unlink", -2, Write | Fast, 1, -1, 1, static (h, c, w) => h.Del(c, w),
            Docs("Delete a key (as DEL: RingKV frees no memory in the background)", "4.0.0", "generic", "O(N) where N is the number of keys that will be removed", Key("key").Multiple())),
        new("exists", -2, Read | Fast, 1, -1, 1, static (h, c, w) => h.Exists(c, w),
            Docs("Determine if a key exists", "1.0.0", "generic", "O(N) where N is the number of keys to check", Key("key").Multiple())),
        new("mget", -2, Read | Fast, 1, -1, 1, static (h, c, w) => h.MGet(c, w),
            Docs("Get the values of all the given keys", "1.0.0", "string", "O(N) where N is the number of keys to retrieve", Key("key").Multiple())),
        new("mset", -3, Write | DenyOom, 1, -1, 2, static (h, c, w) => h.MSet(c, w, onlyIfNoneExist: false),
            Docs("Set multiple keys to multiple values", "1.0.1", "string", "O(N) where N is the number of keys to set", Block("data", Key("key"), Str("value")).Multiple())),
        new("msetnx", -3, Write | DenyOom, 1, -1, 2, static (h, c, w) => h.MSet(c, w, onlyIfNoneExist: true),
            Docs("Set multiple keys to multiple values, only if none of the keys exist", "1.0.1", "string", "O(N) where N is the number of keys to set", Block("data", Key("key"), Str("value")).Multiple())),
        new("expire", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1000, absolute: false),
            Docs("Set a key's time to live in seconds", "1.0.0", "generic", "O(1)", Key("key"), Int("seconds"), OneOf("condition", Token("NX"), Token("XX"), Token("GT"), Token("LT")).Optional())),
        new("pexpire", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1, absolute: false),
            Docs("Set a key's time to live in milliseconds", "2.6.0", "generic", "O(1)", Key("key"), Int("milliseconds"), OneOf("condition", Token("NX"), Token("XX"), Token("GT"), Token("LT")).Optional())),
        new("expireat", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1000, absolute: true),
            Docs("Set the expiration for a key as a UNIX timestamp", "1.2.0", "generic", "O(1)", Key("key"), UnixTime("unix-time-seconds"), OneOf("condition", Token("NX"), Token("XX"), Token("GT"), Token("LT")).Optional())),
        new("pexpireat", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1, absolute: true),
            Docs("Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", "generic", "O(1)", Key("key"), UnixTime("unix-time-milliseconds"), OneOf("condition", Token("NX"), Token("XX"), Token("GT"), Token("LT")).Optional())),
        new("ttl", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.Ttl(c, w, 1000),
            Docs("Get the time to live for a key in seconds", "1.0.0", "generic", "O(1)", Key("key"))),
        new("pttl", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.Ttl(c, w, 1),
            Docs("Get the time to live for a key in milliseconds", "2.6.0", "generic", "O(1)", Key("key"))),
        new("persist", 2, Write | Fast, 1, 1, 1, static (h, c, w) => h.Persist(c, w),
            Docs("Remove the expiration from a key", "2.2.0", "generic", "O(1)", Key("key"))),
        new("expiretime", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.ExpireTime(c, w, 1000),
            Docs("Get the expiration Unix timestamp for a key", "7.0.0", "generic", "O(1)", Key("key"))),
        new("pexpiretime", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.ExpireTime(c, w, 1),
            Docs("Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", "generic", "O(1)", Key("key"))),
        new("touch", -2, Read | Fast, 1, -1, 1, static (h, c, w) => h.Exists(c, w),
            Docs("Count the given keys that exist (RingKV keeps no access times)", "3.2.1", "generic", "O(N) where N is the number of keys that will be touched", Key("key").Multiple())),
        new("type", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.TypeOf(c, w),
            Docs("Determine the type stored at key", "1.0.0", "generic", "O(1)", Key("key"))),
        new("scan", -2, Read | Barrier, 0, 0, 0, static (h, c, w) => h.Scan(c, w),
            Docs("Incrementally iterate the keys space", "2.8.0", "generic", "O(1) for every call. O(N) for a complete iteration", Int("cursor"), Pattern("pattern", "MATCH").Optional(), Int("count", "COUNT").Optional(), Str("type", "TYPE").Optional())),
        new("keys", 2, Read | Barrier, 0, 0, 0, static (h, c, w) => h.Keys(c, w),
            Docs("Find all keys matching the given pattern", "1.0.0", "generic", "O(N) with N being the number of keys in the database", Pattern("pattern"))),
        new("randomkey", 1, Read | Barrier, 0, 0, 0, static (h, c, w) => h.RandomKey(w),
            Docs("Return a random key from the keyspace", "1.0.0", "generic", "O(1)")),
        new("rename", 3, Write, 1, 2, 1, static (h, c, w) => h.Rename(c, w, onlyIfAbsent: false),
            Docs("Rename a key", "1.0.0", "generic", "O(1)", Key("key"), Key("newkey"))),
        new("renamenx", 3, Write | Fast, 1, 2, 1, static (h, c, w) => h.Rename(c, w, onlyIfAbsent: true),
            Docs("Rename a key, only if the new key does not exist", "1.0.0", "generic", "O(1)", Key("key"), Key("newkey"))),
        new("copy", -3, Write | DenyOom, 1, 2, 1, static (h, c, w) => h.Copy(c, w),
            Docs("Copy a key", "6.2.0", "generic", "O(1) for string values", Key("source"), Key("destination"), Int("destination-db", "DB").Optional(), Token("REPLACE").Optional())),
        new("object", -2, Read, 2, 2, 1, static (h, c, w) => h.Object(c, w),
            Container(
                "A container for object introspection commands", "2.2.3", "generic",
                Sub("encoding", Docs("Inspect the internal encoding of a Redis object", "2.2.3", "generic", "O(1)", Key("key"))),
                Sub("refcount", Docs("Get the number of references to the value of the key", "2.2.3", "generic", "O(1)", Key("key"))),
                Sub("freq", Docs("Get the logarithmic access frequency counter of a Redis object (RingKV keeps none)", "4.0.0", "generic", "O(1)", Key("key"))),
                Sub("idletime", Docs("Get the time since a Redis object was last accessed (RingKV keeps none)", "2.2.3", "generic", "O(1)", Key("key"))),
                Sub("help", Docs("Show helpful text about the different subcommands", "6.2.0", "generic", "O(1)")))),
        new("memory", -2, Read, 2, 2, 1, static (h, c, w) => h.Memory(c, w),
            Container(
                "A container for memory diagnostics commands", "4.0.0", "server",
                Sub("usage", Docs("Estimate the memory usage of a key", "4.0.0", "server", "O(1)", Key("key"), Int("count", "SAMPLES").Optional())),
                Sub("help", Docs("Show helpful text about the different subcommands", "4.0.0", "server", "O(1)")))),
        new("dbsize", 1, Read | Fast | Barrier, 0, 0, 0, static (h, c, w) => h.DbSize(w),
            Docs("Return the number of keys in the selected database", "1.0.0", "server", "O(N) where N is the number of keys stored")),
        new("flushall", -1, Write | Barrier, 0, 0, 0, static (h, c, w) => h.FlushAll(c, w),
            Docs("Remove all keys from all databases", "1.0.0", "server", "O(N) where N is the total number of keys in all databases", OneOf("flush-type", Token("ASYNC"), Token("SYNC")).Optional())),
        new("flushdb", -1, Write | Barrier, 0, 0, 0, static (h, c, w) => h.FlushAll(c, w),
            Docs("Remove all keys from the current database", "1.0.0", "server", "O(N) where N is the number of keys in the selected database", OneOf("flush-type", Token("ASYNC"), Token("SYNC")).Optional())),
        new("ping", -1, Fast, 0, 0, 0, static (h, c, w) => new(CommandHandler.Ping(c, w)),
            Docs("Ping the server", "1.0.0", "connection", "O(1)", Str("message").Optional())),
        new("echo", 2, Fast, 0, 0, 0, static (h, c, w) => new(CommandHandler.Echo(c, w)),
            Docs("Echo the given string", "1.0.0", "connection", "O(1)", Str("message"))),
        new("time", 1, Loading | Fast, 0, 0, 0, static (h, c, w) => new(h.Time(w)),
            Docs("Return the current server time", "2.6.0", "server", "O(1)")),
        new("hello", -1, NoAuth | Fast | Barrier, 0, 0, 0, static (h, c, w) => new(h.Hello(c, w)),
            Docs("Handshake with Redis", "6.0.0", "connection", "O(1)", Block("arguments", Int("protover"), Block("username-password", Str("username"), Str("password")).WithToken("AUTH").Optional(), Str("clientname", "SETNAME").Optional()).Optional())),
        new("auth", -2, NoAuth | Fast | Barrier, 0, 0, 0, static (h, c, w) => new(h.Auth(c, w)),
            Docs("Authenticate to the server", "1.0.0", "connection", "O(N) where N is the number of passwords defined for the user", Str("username").Optional(), Str("password"))),
        new("select", 2, Loading | Fast, 0, 0, 0, static (h, c, w) => new(CommandHandler.Select(c, w)),
            Docs("Change the selected database for the current connection", "1.0.0", "connection", "O(1)", Int("index"))),
        new("quit", -1, NoAuth | Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(CommandHandler.Quit(w)),
            Docs("Close the connection", "1.0.0", "connection", "O(1)")),
        new("reset", 1, NoAuth | Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Reset(w)),
            Docs("Reset the connection", "6.2.0", "connection", "O(1)")),
        new("multi", 1, Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Multi(w)),
            Docs("Mark the start of a transaction block", "1.2.0", "transactions", "O(1)")),
        new("exec", 1, Barrier | Transaction, 0, 0, 0, static (h, c, w) => h.Exec(w),
            Docs("Execute all commands issued after MULTI", "1.2.0", "transactions", "Depends on commands in the transaction")),
        new("discard", 1, Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Discard(w)),
            Docs("Discard all commands issued after MULTI", "2.0.0", "transactions", "O(N), when N is the number of queued commands")),
        new("watch", -2, Fast | Barrier | Transaction, 1, -1, 1, static (h, c, w) => h.Watch(c, w),
            Docs("Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0", "transactions", "O(1) for every key.", Key("key").Multiple())),
        new("unwatch", 1, Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Unwatch(w)),
            Docs("Forget about all watched keys", "2.2.0", "transactions", "O(1)")),
        new("wait", 3, Barrier, 0, 0, 0, static (h, c, w) => h.Wait(c, w),
            Docs("Wait for the synchronous replication of all the write commands sent in the context of the current connection", "3.0.0", "generic", "O(1)", Int("numreplicas"), Int("timeout"))),
        new("command", -1, Loading, 0, 0, 0, static (h, c, w) => new(CommandHandler.CommandInfo(c, w)),
            Container(
                "Get array of Redis command details", "2.8.13", "server",
                Sub("count", Docs("Get total number of Redis commands", "2.8.13", "server", "O(1)")),
                Sub("docs", Docs("Get array of specific Redis command documentation", "7.0.0", "server", "O(N) where N is the number of commands to look up", Str("command-name").Optional().Multiple())),
                Sub("getkeys", Docs("Extract keys given a full Redis command", "2.8.13", "server", "O(N) where N is the number of arguments to the command", Str("command"), Str("arg").Optional().Multiple())),
                Sub("info", Docs("Get array of specific Redis command details, or all when no argument is given.", "2.8.13", "server", "O(N) where N is the number of commands to look up", Str("command-name").Optional().Multiple())),
                Sub("list", Docs("Get an array of Redis command names", "7.0.0", "server", "O(N) where N is the total number of Redis commands", OneOf("filterby", Str("module-name", "MODULE"), Str("category", "ACLCAT"), Pattern("pattern", "PATTERN")).WithToken("FILTERBY").Optional())),
                Sub("help", Docs("Show helpful text about the different subcommands", "5.0.0", "server", "O(1)")))),
        new("config", -2, Admin | Barrier, 0, 0, 0, static (h, c, w) => new(h.Config(c, w)),
            Container(
                "A container for server configuration commands", "2.0.0", "server",
                Sub("get", Docs("Get the values of configuration parameters", "2.0.0", "server", "O(N) when N is the number of configuration parameters provided", Str("parameter").Multiple())),
                Sub("set", Docs("Set configuration parameters to the given values", "2.0.0", "server", "O(N) when N is the number of configuration parameters provided", Block("data", Str("parameter"), Str("value")).Multiple())),
                Sub("resetstat", Docs("Reset the stats returned by INFO (not supported)", "2.0.0", "server", "O(1)")),
                Sub("rewrite", Docs("Rewrite the configuration file with the in memory configuration (not supported)", "2.8.0", "server", "O(1)")),
                Sub("help", Docs("Show helpful text about the different subcommands", "5.0.0", "server", "O(1)")))),
        new("info", -1, Loading | Barrier, 0, 0, 0, static (h, c, w) => h.Info(c, w),
            Docs("Get information and statistics about the server", "1.0.0", "server", "O(1)", Str("section").Optional().Multiple())),
        new("slowlog", -2, Admin | Loading, 0, 0, 0, static (h, c, w) => new(h.SlowLogCommand(c, w)),
            Container(
                "A container for slow log commands", "2.2.12", "server",
                Sub("get", Docs("Get the slow log's entries", "2.2.12", "server", "O(N) where N is the number of entries returned", Int("count").Optional())),
                Sub("len", Docs("Get the slow log's length", "2.2.12", "server", "O(1)")),
                Sub("reset", Docs("Clear all entries from the slow log", "2.2.12", "server", "O(N) where N is the number of entries in the slowlog")),
                Sub("help", Docs("Show helpful text about the different subcommands", "6.2.0", "server", "O(1)")))),
        new("latency", -2, Admin | Loading, 0, 0, 0, static (h, c, w) => new(h.LatencyCommand(c, w)),
            Container(
                "A container for latency diagnostics commands", "2.8.13", "server",
                Sub("latest", Docs("Return the latest latency samples for all events.", "2.8.13", "server", "O(1)")),
                Sub("history", Docs("Return timestamp-latency samples for the event.", "2.8.13", "server", "O(1)", Str("event"))),
                Sub("reset", Docs("Reset latency data for one or more events.", "2.8.13", "server", "O(1)", Str("event").Optional().Multiple())),
                Sub("histogram", Docs("Return the cumulative distribution of latencies of a subset of commands or all.", "7.0.0", "server", "O(N) where N is the number of commands with latency information being retrieved.", Str("command").Optional().Multiple())),
                Sub("doctor", Docs("Return a human readable latency analysis report.", "2.8.13", "server", "O(1)")),
                Sub("graph", Docs("Return a latency graph for the event.", "2.8.13", "server", "O(1)", Str("event"))),
                Sub("help", Docs("Show helpful text about the different subcommands.", "2.8.13", "server", "O(1)")))),
        new("debug", -2, Admin, 0, 0, 0, static (h, c, w) => h.Debug(c, w),
            Docs("A container for debugging commands (RingKV has SLEEP and HELP)", "1.0.0", "server", "Depends on subcommand.")),
        new("client", -2, Admin | Barrier, 0, 0, 0, static (h, c, w) => new(h.Client(c, w)),
            Container(
                "A container for client connection commands", "2.4.0", "connection",
                Sub("getname", Docs("Get the current connection name", "2.6.9", "connection", "O(1)")),
                Sub("id", Docs("Returns the client ID for the current connection", "5.0.0", "connection", "O(1)")),
                Sub("kill", Docs("Kill the connection of a client", "2.4.0", "connection", "O(N) where N is the number of client connections", OneOf("filter", Str("ip:port"), OneOf("new-format", Int("client-id", "ID").Optional(), OneOf("client-type", Token("NORMAL"), Token("MASTER"), Token("SLAVE"), Token("REPLICA"), Token("PUBSUB")).WithToken("TYPE").Optional(), Str("username", "USER").Optional(), Str("ip:port", "ADDR").Optional(), Str("ip:port", "LADDR").Optional(), OneOf("skipme", Token("YES"), Token("NO")).WithToken("SKIPME").Optional(), Int("maxage", "MAXAGE").Optional()).Multiple()))),
                Sub("list", Docs("Get the list of client connections", "2.4.0", "connection", "O(N) where N is the number of client connections", OneOf("client-type", Token("NORMAL"), Token("MASTER"), Token("REPLICA"), Token("PUBSUB")).WithToken("TYPE").Optional(), Block("id", Int("client-id").Multiple()).WithToken("ID").Optional())),
                Sub("no-evict", Docs("Set client eviction mode for the current connection (RingKV evicts no client)", "7.0.0", "connection", "O(1)", OneOf("enabled", Token("ON"), Token("OFF")))),
                Sub("pause", Docs("Stop processing commands from clients for some time", "3.0.0", "connection", "O(1)", Int("timeout"), OneOf("mode", Token("WRITE"), Token("ALL")).Optional())),
                Sub("setinfo", Docs("Set client or connection specific info", "7.2.0", "connection", "O(1)", OneOf("attr", Str("libname", "LIB-NAME"), Str("libver", "LIB-VER")))),
                Sub("setname", Docs("Set the current connection name", "2.6.9", "connection", "O(1)", Str("connection-name"))),
                Sub("unpause", Docs("Resume processing of clients that were paused", "6.2.0", "connection", "O(N) Where N is the number of paused clients")),
                Sub("help", Docs("Show helpful text about the different subcommands", "5.0.0", "connection", "O(1)")))),
        new("shutdown", -1, Admin | Barrier, 0, 0, 0, static (h, c, w) => new(h.Shutdown(c, w)),
            Docs("Stop the node: commands in flight finish, the commit log is synced", "1.0.0", "server", "O(1)", OneOf("save-selector", Token("NOSAVE"), Token("SAVE")).Optional(), Token("NOW").Optional(), Token("FORCE").Optional(), Token("ABORT").Optional())),
        new("kv.get", -2, Read, 1, 1, 1, static (h, c, w) => h.KvGet(c, w),
            Docs("Get a key's siblings and the causal context to write them back with", "0.1.0", "generic", "O(1)", Key("key"), Block("consistency", Str("level"), Token("STRICT").Optional(), Token("REPAIR").Optional()).WithToken("CONSISTENCY").Optional())),
        new("kv.put", -3, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.KvPut(c, w),
            Docs("Write a value under the causal context a KV.GET gave, or concurrently with what exists", "0.1.0", "generic", "O(1)", Key("key"), Str("value"), Str("context", "CONTEXT").Optional(), Block("consistency", Str("level"), Token("STRICT").Optional()).WithToken("CONSISTENCY").Optional())),
        new("kv.del", -2, Write, 1, 1, 1, static (h, c, w) => h.KvDel(c, w),
            Docs("Delete the siblings a causal context saw, or every sibling seen now", "0.1.0", "generic", "O(1)", Key("key"), Str("context", "CONTEXT").Optional(), Block("consistency", Str("level"), Token("STRICT").Optional()).WithToken("CONSISTENCY").Optional())),
        new("kv.consistency", -1, Fast | Barrier, 0, 0, 0, static (h, c, w) => new(h.KvConsistency(c, w)),
            Docs("Set or show this connection's read and write consistency levels for the plain commands", "0.1.0", "connection", "O(1)", Block("read", Str("level"), Token("STRICT").Optional(), Token("REPAIR").Optional()).WithToken("READ").Optional(), Block("write", Str("level"), Token("STRICT").Optional()).WithToken("WRITE").Optional())),
        new("kv.ring", 1, Loading | Barrier, 0, 0, 0, static (h, c, w) => h.KvRing(w),
            Docs("List the cluster's nodes: address, state, status, ownership, load", "0.1.0", "cluster", "O(N) where N is the number of nodes")),
        new("kv.repair", -1, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvRepair(c, w),
            Docs("Start a full anti-entropy pass on this node, or show its progress", "0.1.0", "cluster", "O(1)", Token("STATUS").Optional())),
        new("kv.decommission", 1, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvDecommission(c, w),
            Docs("Make this node leave the cluster: its ranges stream to the nodes taking them over", "0.1.0", "cluster", "O(1)")),
        new("kv.removenode", 2, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvRemoveNode(c, w),
            Docs("Remove a DOWN node from the cluster, streaming its ranges from surviving replicas", "0.1.0", "cluster", "O(1)", Str("node-id"))),
        new("kv.cleanup", 1, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvCleanup(c, w),
            Docs("Remove the records this node no longer replicates after a membership change", "0.1.0", "cluster", "O(N) where N is the number of records stored")),
    ];

    /// <summary>A command's documentation.</summary>
    private static CommandDoc Docs(string summary, string since, string group, string complexity, params CommandArgument[] arguments) =>
        new(summary, since, group, complexity, arguments);

    /// <summary>A container command's documentation (CONFIG, CLIENT, ...): its subcommands, each with its own.</summary>
    private static CommandDoc Container(string summary, string since, string group, params (string Name, CommandDoc Doc)[] subcommands) =>
        new(summary, since, group, "Depends on subcommand.", []) { Subcommands = subcommands };

    /// <summary>One subcommand of a container.</summary>
    private static (string Name, CommandDoc Doc) Sub(string name, CommandDoc doc) => (name, doc);

    // Commands by name length; within one length, in table order (hot commands first).
    private static readonly CommandSpec[][] ByLength = Index();

    /// <summary>The command named <paramref name="name"/> (any case), or null.</summary>
    public static CommandSpec? Find(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength)
        {
            return null;
        }

        foreach (var spec in ByLength[name.Length])
        {
            if (Ascii.EqualsIgnoreCase(name, spec.UpperName))
            {
                return spec;
            }
        }

        return null;
    }

    private static CommandSpec[][] Index()
    {
        var lists = new List<CommandSpec>[MaxNameLength + 1];
        for (var i = 0; i < lists.Length; i++)
        {
            lists[i] = [];
        }

        var index = 0;
        foreach (var spec in All)
        {
            spec.Index = index++;
            lists[spec.Name.Length].Add(spec);
        }

        var result = new CommandSpec[lists.Length][];
        for (var i = 0; i < lists.Length; i++)
        {
            result[i] = [.. lists[i]];
        }

        return result;
    }
}
