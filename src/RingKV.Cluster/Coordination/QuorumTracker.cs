using System;
using RingKV.Core.Consistency;

namespace RingKV.Cluster.Coordination;

/// <summary>Where a request stands against its consistency level.</summary>
internal enum QuorumState : byte
{
    /// <summary>More replies are needed and can still come.</summary>
    Pending,

    /// <summary>Enough replicas succeeded.</summary>
    Succeeded,

    /// <summary>Too many replicas failed for the level to be met.</summary>
    Failed,
}

/// <summary>Counts one request's replica replies against its consistency level: pure, one per request, no allocation after creation.</summary>
/// <remarks>
/// The level becomes requirements on groups of replicas: one group of all replicas (ONE, TWO, THREE, QUORUM, ALL, a count),
/// the coordinator's data center (LOCAL_QUORUM), or each data center (EACH_QUORUM). The request succeeds once every group
/// has its count of successes, and fails as soon as some group can no longer reach it. Each replica counts once: a
/// duplicated or late reply changes nothing. Not thread-safe (the node's loop owns it).
/// </remarks>
internal sealed class QuorumTracker
{
    private readonly QuorumPlan _plan;

    // [0, groups): successes per group; [groups, 2 groups): failures per group; then per replica 0 none, 1 success, 2 failure.
    private readonly int[] _counts;

    /// <summary>A tracker over <paramref name="plan"/>'s groups, nothing replied yet.</summary>
    public QuorumTracker(QuorumPlan plan)
    {
        _plan = plan;
        _counts = new int[(2 * plan.Groups) + plan.Replicas];
    }

    /// <summary>The replicas this tracker counts.</summary>
    public int Replicas => _plan.Replicas;

    /// <summary>Successes needed in all, over every group.</summary>
    public int Required => _plan.TotalRequired;

    /// <summary>Successes so far, over every group.</summary>
    public int Succeeded
    {
        get
        {
            var total = 0;
            for (var g = 0; g < _plan.Groups; g++)
            {
                total += _counts[g];
            }

            return total;
        }
    }

    /// <summary>The current state.</summary>
    public QuorumState State
    {
        get
        {
            var done = true;
            var groups = _plan.Groups;
            for (var g = 0; g < groups; g++)
            {
                var required = _plan.RequiredOf(g);
                if (_plan.MembersOf(g) - _counts[groups + g] < required)
                {
                    return QuorumState.Failed;
                }

                done &= _counts[g] >= required;
            }

            return done ? QuorumState.Succeeded : QuorumState.Pending;
        }
    }

    /// <summary>
    /// Whether the level can be met by the replicas <paramref name="isAlive"/> says are up; when not, how many it needs and how
    /// many are alive (over the groups that fall short), for the UNAVAILABLE reply.
    /// </summary>
    public bool CanSucceed(ReadOnlySpan<bool> isAlive, out int needed, out int alive) => _plan.CanSucceed(isAlive, out needed, out alive);

    /// <summary>Records replica <paramref name="index"/>'s reply; a second reply from it is ignored. Returns the new state.</summary>
    public QuorumState Record(int index, bool success)
    {
        var groups = _plan.Groups;
        ref var replied = ref _counts[(2 * groups) + index];
        if (replied == 0)
        {
            replied = success ? 1 : 2;
            if (_plan.GroupOf(index) is var g and >= 0)
            {
                _counts[success ? g : groups + g]++;
            }
        }

        return State;
    }

    /// <summary>Whether replica <paramref name="index"/> has replied.</summary>
    public bool HasReplied(int index) => _counts[(2 * _plan.Groups) + index] != 0;

    /// <summary>Successes among replicas [0, <paramref name="upTo"/>), whether they count toward the level or not (WAIT's answer).</summary>
    public int Acknowledged(int upTo)
    {
        var start = 2 * _plan.Groups;
        var acked = 0;
        for (var i = 0; i < upTo; i++)
        {
            acked += _counts[start + i] == 1 ? 1 : 0;
        }

        return acked;
    }

    /// <summary>Whether every replica has replied (succeeded or failed): nothing more can change.</summary>
    public bool AllReplied
    {
        get
        {
            for (var i = 2 * _plan.Groups; i < _counts.Length; i++)
            {
                if (_counts[i] == 0)
                {
                    return false;
                }
            }

            return true;
        }
    }
}

/// <summary>
/// A consistency level over one preference list, as requirements on groups of its replicas: immutable, so requests to the
/// same replicas at the same level share one (a <see cref="QuorumTracker"/> adds only its counts).
/// </summary>
internal sealed class QuorumPlan
{
    private readonly int[] _groupOf;      // per replica: its group, or -1 when it counts toward none
    private readonly int[] _required;     // per group
    private readonly int[] _members;      // per group

    private QuorumPlan(int[] groupOf, int[] required)
    {
        _groupOf = groupOf;
        _required = required;
        _members = new int[required.Length];
        foreach (var group in groupOf)
        {
            if (group >= 0)
            {
                _members[group]++;
            }
        }

        foreach (var r in required)
        {
            TotalRequired += r;
        }
    }

    /// <summary>Replicas in the list.</summary>
    public int Replicas => _groupOf.Length;

    /// <summary>Groups with a requirement.</summary>
    public int Groups => _required.Length;

    /// <summary>Successes needed in all, over every group.</summary>
    public int TotalRequired { get; }

    /// <summary>Replica <paramref name="index"/>'s group; -1 when it counts toward none.</summary>
    public int GroupOf(int index) => _groupOf[index];

    /// <summary>Successes group <paramref name="group"/> needs.</summary>
    public int RequiredOf(int group) => _required[group];

    /// <summary>Replicas in group <paramref name="group"/>.</summary>
    public int MembersOf(int group) => _members[group];

    /// <summary>
    /// The plan for <paramref name="level"/> over <paramref name="replicaDataCenters"/> (each replica's data center, in
    /// preference-list order), the coordinator being in <paramref name="localDataCenter"/>.
    /// </summary>
    public static QuorumPlan Create(ConsistencyLevel level, ReadOnlySpan<string> replicaDataCenters, string localDataCenter)
        => Create(level, replicaDataCenters, localDataCenter, replicaDataCenters.Length);

    /// <summary>
    /// The plan for <paramref name="level"/> over the first <paramref name="natural"/> replicas, the ones after them being
    /// pending replicas (nodes that will own the range once a membership change in flight completes): each pending replica
    /// joins the group of its data center and raises that group's requirement by one, as Cassandra's pending endpoints do.
    /// </summary>
    /// <remarks>
    /// Why: a write acknowledged this way is held by at least the level's count among the replicas the range will have
    /// after the change (each pending replica replaces at most one natural one), so R + W &gt; N still holds across the
    /// switch, whether the new node's stream or the write itself brought it the data.
    /// </remarks>
    public static QuorumPlan Create(ConsistencyLevel level, ReadOnlySpan<string> replicaDataCenters, string localDataCenter, int natural)
    {
        var plan = CreateNatural(level, replicaDataCenters[..natural], localDataCenter);
        if (natural == replicaDataCenters.Length)
        {
            return plan;
        }

        var groupOf = new int[replicaDataCenters.Length];
        plan._groupOf.CopyTo(groupOf, 0);
        var required = (int[])plan._required.Clone();
        for (var i = natural; i < replicaDataCenters.Length; i++)
        {
            // The group of the first natural replica of the same data center (all replicas share one group for the plain levels).
            var group = -1;
            for (var j = 0; j < natural && group < 0; j++)
            {
                if (plan._groupOf[j] >= 0 && (level.Kind is not (ConsistencyKind.EachQuorum or ConsistencyKind.LocalQuorum)
                    || string.Equals(replicaDataCenters[j], replicaDataCenters[i], StringComparison.Ordinal)))
                {
                    group = plan._groupOf[j];
                }
            }

            groupOf[i] = group;
            if (group >= 0)
            {
                required[group]++;
            }
        }

        return new QuorumPlan(groupOf, required);
    }

    private static QuorumPlan CreateNatural(ConsistencyLevel level, ReadOnlySpan<string> replicaDataCenters, string localDataCenter)
    {
        var n = replicaDataCenters.Length;
        var groupOf = new int[n];
        if (level.Kind == ConsistencyKind.EachQuorum)
        {
            // One group per data center, in order of first appearance (deterministic: the preference list's order).
            var names = new string[n];
            var groups = 0;
            for (var i = 0; i < n; i++)
            {
                var found = Array.IndexOf(names, replicaDataCenters[i], 0, groups);
                if (found < 0)
                {
                    names[groups] = replicaDataCenters[i];
                    found = groups++;
                }

                groupOf[i] = found;
            }

            var required = new int[groups];
            var counts = new int[groups];
            foreach (var g in groupOf)
            {
                counts[g]++;
            }

            for (var g = 0; g < groups; g++)
            {
                required[g] = (counts[g] / 2) + 1;
            }

            return new QuorumPlan(groupOf, required);
        }

        if (level.Kind == ConsistencyKind.LocalQuorum)
        {
            var local = 0;
            for (var i = 0; i < n; i++)
            {
                var isLocal = string.Equals(replicaDataCenters[i], localDataCenter, StringComparison.Ordinal);
                groupOf[i] = isLocal ? 0 : -1;
                local += isLocal ? 1 : 0;
            }

            return new QuorumPlan(groupOf, [level.Required(n, local)]);
        }

        return new QuorumPlan(groupOf, [level.Required(n, n)]);
    }

    /// <summary>
    /// Whether the level can be met by the replicas <paramref name="isAlive"/> says are up; when not, how many it needs and how
    /// many are alive (over the groups that fall short), for the UNAVAILABLE reply.
    /// </summary>
    public bool CanSucceed(ReadOnlySpan<bool> isAlive, out int needed, out int alive)
    {
        needed = 0;
        alive = 0;
        var ok = true;
        for (var g = 0; g < _required.Length; g++)
        {
            var up = 0;
            for (var i = 0; i < _groupOf.Length; i++)
            {
                up += _groupOf[i] == g && isAlive[i] ? 1 : 0;
            }

            if (up < _required[g])
            {
                ok = false;
            }

            needed += _required[g];
            alive += Math.Min(up, _required[g]);
        }

        if (ok)
        {
            return true;
        }

        // Report the plain counts: needed in all, alive among the replicas.
        alive = 0;
        foreach (var up in isAlive)
        {
            alive += up ? 1 : 0;
        }

        return false;
    }
}
