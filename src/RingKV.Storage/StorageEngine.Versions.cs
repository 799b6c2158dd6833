using System;
using System.Threading;
using RingKV.Storage.Versions;
using Version = RingKV.Storage.Versions.Version;

namespace RingKV.Storage;

public sealed partial class StorageEngine
{
    /// <summary>Writes the manifest for the current version. Requires: _mutex (or recovery).</summary>
    private void WriteManifestLocked(long logNumber) => ManifestLocked(_current, logNumber).Write(_fs, _directory);

    /// <summary>The manifest that describes <paramref name="version"/>. Requires: _mutex (or recovery).</summary>
    private Manifest ManifestLocked(Version version, long logNumber)
    {
        var manifest = new Manifest
        {
            NextFileNumber = _nextFileNumber,
            LogNumber = logNumber,
            LastSequence = Volatile.Read(ref _lastSequence),
        };
        for (var level = 0; level < Version.LevelCount; level++)
        {
            foreach (var file in version.Levels[level])
            {
                manifest.Files.Add((level, file));
            }
        }

        return manifest;
    }

    /// <summary>
    /// Makes the version <paramref name="prepareLocked"/> builds (with one reference) the current one: writes its
    /// manifest (logs from <paramref name="logNumberLocked"/> on), then installs it under _mutex with
    /// <paramref name="installLocked"/>. Returns the version it replaced, whose reference the caller drops.
    /// Requires: _versionEdit held, _mutex not held.
    /// </summary>
    /// <remarks>
    /// The manifest's fsyncs run outside _mutex, so writers (whose leaders take _mutex for every write group) never
    /// wait for them: held under _mutex, every write would stop for the length of a manifest's fsyncs (the file and the
    /// directory). Version edits are serialized by _versionEdit instead, so _current cannot change between
    /// <paramref name="prepareLocked"/> and the install.
    /// </remarks>
    private Version InstallVersion(Func<Version> prepareLocked, Func<long> logNumberLocked, Action installLocked)
    {
        Version next;
        Manifest manifest;
        lock (_mutex)
        {
            next = prepareLocked();
            manifest = ManifestLocked(next, logNumberLocked());
        }

        try
        {
            manifest.Write(_fs, _directory);
        }
        catch
        {
            next.Unref();
            throw;
        }

        lock (_mutex)
        {
            var old = _current;
            _current = next;
            installLocked();
            return old;
        }
    }
}
