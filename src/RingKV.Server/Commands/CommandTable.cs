using System;
using System.Collections.Generic;
using System.Text;
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
        new("get", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.Get(c, w)),
        new("set", -3, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.Set(c, w)),
        new("setnx", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.SetNx(c, w)),
        new("setex", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetEx(c, w, 1000)),
        new("psetex", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetEx(c, w, 1)),
        new("getdel", 2, Write | Fast, 1, 1, 1, static (h, c, w) => h.GetDel(c, w)),
        new("getex", -2, Write | Fast, 1, 1, 1, static (h, c, w) => h.GetEx(c, w)),
        new("incr", 2, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, 1, hasAmount: false)),
        new("decr", 2, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, -1, hasAmount: false)),
        new("incrby", 3, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, 1, hasAmount: true)),
        new("decrby", 3, Write | DenyOom | Fast | Counter, 1, 1, 1, static (h, c, w) => h.IncrBy(c, w, -1, hasAmount: true)),
        new("incrbyfloat", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.IncrByFloat(c, w)),
        new("getset", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.GetSet(c, w)),
        new("append", 3, Write | DenyOom | Fast, 1, 1, 1, static (h, c, w) => h.Append(c, w)),
        new("strlen", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.StrLen(c, w)),
        new("getrange", 4, Read, 1, 1, 1, static (h, c, w) => h.GetRange(c, w)),
        new("substr", 4, Read, 1, 1, 1, static (h, c, w) => h.GetRange(c, w)),
        new("setrange", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetRange(c, w)),
        new("getbit", 3, Read | Fast, 1, 1, 1, static (h, c, w) => h.GetBit(c, w)),
        new("setbit", 4, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.SetBit(c, w)),
        new("bitcount", -2, Read, 1, 1, 1, static (h, c, w) => h.BitCount(c, w)),
        new("lcs", -3, Read, 1, 2, 1, static (h, c, w) => h.Lcs(c, w)),
        new("del", -2, Write, 1, -1, 1, static (h, c, w) => h.Del(c, w)),
        new("unlink", -2, Write | Fast, 1, -1, 1, static (h, c, w) => h.Del(c, w)),
        new("exists", -2, Read | Fast, 1, -1, 1, static (h, c, w) => h.Exists(c, w)),
        new("mget", -2, Read | Fast, 1, -1, 1, static (h, c, w) => h.MGet(c, w)),
        new("mset", -3, Write | DenyOom, 1, -1, 2, static (h, c, w) => h.MSet(c, w, onlyIfNoneExist: false)),
        new("msetnx", -3, Write | DenyOom, 1, -1, 2, static (h, c, w) => h.MSet(c, w, onlyIfNoneExist: true)),
        new("expire", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1000, absolute: false)),
        new("pexpire", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1, absolute: false)),
        new("expireat", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1000, absolute: true)),
        new("pexpireat", -3, Write | Fast, 1, 1, 1, static (h, c, w) => h.Expire(c, w, 1, absolute: true)),
        new("ttl", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.Ttl(c, w, 1000)),
        new("pttl", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.Ttl(c, w, 1)),
        new("persist", 2, Write | Fast, 1, 1, 1, static (h, c, w) => h.Persist(c, w)),
        new("expiretime", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.ExpireTime(c, w, 1000)),
        new("pexpiretime", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.ExpireTime(c, w, 1)),
        new("touch", -2, Read | Fast, 1, -1, 1, static (h, c, w) => h.Exists(c, w)),
        new("type", 2, Read | Fast, 1, 1, 1, static (h, c, w) => h.TypeOf(c, w)),
        new("scan", -2, Read | Barrier, 0, 0, 0, static (h, c, w) => h.Scan(c, w)),
        new("keys", 2, Read | Barrier, 0, 0, 0, static (h, c, w) => h.Keys(c, w)),
        new("randomkey", 1, Read | Barrier, 0, 0, 0, static (h, c, w) => h.RandomKey(w)),
        new("rename", 3, Write, 1, 2, 1, static (h, c, w) => h.Rename(c, w, onlyIfAbsent: false)),
        new("renamenx", 3, Write | Fast, 1, 2, 1, static (h, c, w) => h.Rename(c, w, onlyIfAbsent: true)),
        new("copy", -3, Write | DenyOom, 1, 2, 1, static (h, c, w) => h.Copy(c, w)),
        new("object", -2, Read, 2, 2, 1, static (h, c, w) => h.Object(c, w)),
        new("memory", -2, Read, 2, 2, 1, static (h, c, w) => h.Memory(c, w)),
        new("dbsize", 1, Read | Fast | Barrier, 0, 0, 0, static (h, c, w) => h.DbSize(w)),
        new("flushall", -1, Write | Barrier, 0, 0, 0, static (h, c, w) => h.FlushAll(c, w)),
        new("flushdb", -1, Write | Barrier, 0, 0, 0, static (h, c, w) => h.FlushAll(c, w)),
        new("ping", -1, Fast, 0, 0, 0, static (h, c, w) => new(CommandHandler.Ping(c, w))),
        new("echo", 2, Fast, 0, 0, 0, static (h, c, w) => new(CommandHandler.Echo(c, w))),
        new("time", 1, Loading | Fast, 0, 0, 0, static (h, c, w) => new(h.Time(w))),
        new("hello", -1, NoAuth | Fast | Barrier, 0, 0, 0, static (h, c, w) => new(h.Hello(c, w))),
        new("auth", -2, NoAuth | Fast | Barrier, 0, 0, 0, static (h, c, w) => new(h.Auth(c, w))),
        new("select", 2, Loading | Fast, 0, 0, 0, static (h, c, w) => new(CommandHandler.Select(c, w))),
        new("quit", -1, NoAuth | Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(CommandHandler.Quit(w))),
        new("reset", 1, NoAuth | Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Reset(w))),
        new("multi", 1, Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Multi(w))),
        new("exec", 1, Barrier | Transaction, 0, 0, 0, static (h, c, w) => h.Exec(w)),
        new("discard", 1, Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Discard(w))),
        new("watch", -2, Fast | Barrier | Transaction, 1, -1, 1, static (h, c, w) => h.Watch(c, w)),
        new("unwatch", 1, Fast | Barrier | Transaction, 0, 0, 0, static (h, c, w) => new(h.Unwatch(w))),
        new("command", -1, Loading, 0, 0, 0, static (h, c, w) => new(CommandHandler.CommandInfo(c, w))),
        new("config", -2, Admin | Barrier, 0, 0, 0, static (h, c, w) => new(h.Config(c, w))),
        new("info", -1, Loading | Barrier, 0, 0, 0, static (h, c, w) => h.Info(c, w)),
        new("slowlog", -2, Admin | Loading, 0, 0, 0, static (h, c, w) => new(h.SlowLogCommand(c, w))),
        new("latency", -2, Admin | Loading, 0, 0, 0, static (h, c, w) => new(h.LatencyCommand(c, w))),
        new("debug", -2, Admin, 0, 0, 0, static (h, c, w) => h.Debug(c, w)),
        new("client", -2, Admin | Barrier, 0, 0, 0, static (h, c, w) => new(h.Client(c, w))),
        new("shutdown", -1, Admin | Barrier, 0, 0, 0, static (h, c, w) => new(h.Shutdown(c, w))),
        new("kv.get", -2, Read, 1, 1, 1, static (h, c, w) => h.KvGet(c, w)),
        new("kv.put", -3, Write | DenyOom, 1, 1, 1, static (h, c, w) => h.KvPut(c, w)),
        new("kv.del", -2, Write, 1, 1, 1, static (h, c, w) => h.KvDel(c, w)),
        new("kv.consistency", -1, Fast | Barrier, 0, 0, 0, static (h, c, w) => new(h.KvConsistency(c, w))),
        new("kv.ring", 1, Loading | Barrier, 0, 0, 0, static (h, c, w) => h.KvRing(w)),
        new("kv.repair", -1, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvRepair(c, w)),
        new("kv.decommission", 1, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvDecommission(c, w)),
        new("kv.removenode", 2, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvRemoveNode(c, w)),
        new("kv.cleanup", 1, Admin | Barrier, 0, 0, 0, static (h, c, w) => h.KvCleanup(c, w)),
    ];

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
