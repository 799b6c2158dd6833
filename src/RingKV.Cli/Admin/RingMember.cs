using System;
using System.Collections.Generic;
using System.Globalization;

namespace RingKV.Cli.Admin;

/// <summary>One node as a node's <c>KV.RING</c> reply describes it.</summary>
/// <param name="Id">The node id.</param>
/// <param name="Address">Its RESP address, host:port.</param>
/// <param name="Peer">Its internode address, host:port.</param>
/// <param name="Dc">Its data center.</param>
/// <param name="Rack">Its rack.</param>
/// <param name="State">JOINING, NORMAL, LEAVING or LEFT, as the node answering sees it.</param>
/// <param name="Status">UP or DOWN, as the node answering sees it.</param>
/// <param name="Capacity">Its relative capacity (its share of tokens).</param>
/// <param name="Ownership">The fraction of the ring it owns, 0 to 1.</param>
/// <param name="Tokens">How many tokens it has.</param>
/// <param name="LoadBytes">Bytes it stores.</param>
/// <param name="HintsPending">Hints the node answering keeps for it (writes it missed while DOWN); 0 when the node answering does not say.</param>
/// <param name="OpsPerSecond">Client operations per second it coordinated (<c>ops</c>); null when the node answering does not say.</param>
/// <param name="P99Micros">The 99th percentile latency of those, microseconds (<c>p99_us</c>); null when not said.</param>
/// <param name="CpuPercent">Its process's CPU use, percent of one core (<c>cpu</c>); null when not said.</param>
internal sealed record RingMember(
    string Id,
    string Address,
    string Peer,
    string Dc,
    string Rack,
    string State,
    string Status,
    long Capacity,
    double Ownership,
    long Tokens,
    long LoadBytes,
    long HintsPending = 0,
    double? OpsPerSecond = null,
    double? P99Micros = null,
    double? CpuPercent = null)
{
    private static readonly string[] Fields = ["id", "address", "peer", "dc", "rack", "state", "status", "capacity", "ownership", "tokens", "load"];

    /// <summary>Whether the node answering sees this one as a full member that answers: NORMAL and UP.</summary>
    public bool IsNormalAndUp => State == "NORMAL" && Status == "UP";

    /// <summary>
    /// Reads a <c>KV.RING</c> reply: an array with one element per node, each a flat array of field/value pairs
    /// (<c>id</c>, <c>address</c>, <c>peer</c>, <c>dc</c>, <c>rack</c>, <c>state</c>, <c>status</c>, <c>capacity</c>,
    /// <c>ownership</c>, <c>tokens</c>, <c>load</c>). Fields may come in any order; fields this version does not know
    /// are skipped, so a newer node's reply still reads.
    /// </summary>
    /// <exception cref="FormatException">An error reply, or a reply of another shape; the message says what and from whom.</exception>
    public static IReadOnlyList<RingMember> DecodeRing(RespReply reply, string from)
    {
        if (reply.Kind == RespReplyKind.Error)
        {
            throw new FormatException($"{from} answered KV.RING with an error: {reply.Text}");
        }

        if (reply.Kind != RespReplyKind.Array)
        {
            throw new FormatException($"{from} answered KV.RING with {reply}, not an array of nodes");
        }

        var members = new List<RingMember>(reply.Elements!.Count);
        for (var i = 0; i < reply.Elements.Count; i++)
        {
            members.Add(Decode(reply.Elements[i], $"{from}: KV.RING node {i + 1}"));
        }

        return members;
    }

    private static RingMember Decode(RespReply element, string where)
    {
        if (element.Kind != RespReplyKind.Array || element.Elements!.Count % 2 != 0)
        {
            throw new FormatException($"{where} is {element}, not a flat array of field/value pairs");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < element.Elements.Count; i += 2)
        {
            var field = element.Elements[i];
            var value = element.Elements[i + 1];
            if (field.Kind is not (RespReplyKind.BulkString or RespReplyKind.SimpleString) || value.Text is null)
            {
                throw new FormatException($"{where}: field {field} has the value {value}, expected text");
            }

            values[field.Text!] = value.Text;
        }

        foreach (var field in Fields)
        {
            if (!values.ContainsKey(field))
            {
                throw new FormatException($"{where} has no '{field}' field");
            }
        }

        return new RingMember(
            values["id"],
            values["address"],
            values["peer"],
            values["dc"],
            values["rack"],
            values["state"],
            values["status"],
            Integer(values, "capacity", where),
            Fraction(values, where),
            Integer(values, "tokens", where),
            Integer(values, "load", where),
            values.ContainsKey("hints") ? Integer(values, "hints", where) : 0,
            Optional(values, "ops", where),
            Optional(values, "p99_us", where),
            Optional(values, "cpu", where));
    }

    private static long Integer(Dictionary<string, string> values, string field, string where) =>
        long.TryParse(values[field], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new FormatException($"{where}: {field} '{values[field]}' is not a whole number >= 0");

    /// <summary>A load figure (ops, p99_us, cpu): a number >= 0, or null when the field is absent (a node from before these fields).</summary>
    private static double? Optional(Dictionary<string, string> values, string field, string where) =>
        !values.TryGetValue(field, out var text) ? null
        : double.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new FormatException($"{where}: {field} '{text}' is not a number >= 0");

    private static double Fraction(Dictionary<string, string> values, string where) =>
        double.TryParse(values["ownership"], NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var value)
            && value is >= 0 and <= 1
            ? value
            : throw new FormatException($"{where}: ownership '{values["ownership"]}' is not a fraction from 0 to 1");
}
