using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using RingKV.Core.Errors;
using RingKV.Core.Hashing;

namespace RingKV.Storage.Versions;

/// <summary>The durable record of the live file set, written whole and swapped in atomically.</summary>
/// <remarks>
/// Each change (flush, compaction, recovery) writes a complete snapshot to <c>MANIFEST.tmp</c>, fsyncs it,
/// renames it over <c>MANIFEST</c> and fsyncs the directory: a crash leaves either the old or the new file
/// set, never a mix. Rejected alternative: LevelDB's append-only edit log. It writes less per change, but
/// needs replay, rollover and torn-edit handling; a snapshot of a few hundred tables is a few tens of KiB,
/// written at most a few times a second.
/// <code>
/// | magic "RKVMANIF" (8) | version (4) = 1 | next file number (8) | log number (8) | last sequence (8) | file count (4) |
/// file: | level (1) | number (8) | size (8) | min seq (8) | max seq (8) | smallest len (4) | smallest | largest len (4) | largest |
/// | crc32c of everything before (4) |
/// </code>
/// All integers little-endian. See docs/formats/manifest.md.
/// </remarks>
internal sealed class Manifest
{
    public const uint FormatVersion = 1;
    private const ulong Magic = 0x46494E414D564B52UL; // "RKVMANIF" little-endian

    public long NextFileNumber { get; set; }

    /// <summary>Commit-log segments numbered below this are fully in tables.</summary>
    public long LogNumber { get; set; }

    public ulong LastSequence { get; set; }

    public List<(int Level, FileMeta File)> Files { get; } = [];

    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        var scratch = new byte[8];
        void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(scratch, v);
            stream.Write(scratch, 0, 8);
        }

        void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(scratch, v);
            stream.Write(scratch, 0, 4);
        }

        U64(Magic);
        U32(FormatVersion);
        U64((ulong)NextFileNumber);
        U64((ulong)LogNumber);
        U64(LastSequence);
        U32((uint)Files.Count);
        foreach (var (level, file) in Files)
        {
            stream.WriteByte((byte)level);
            U64((ulong)file.Number);
            U64((ulong)file.Size);
            U64(file.MinSequence);
            U64(file.MaxSequence);
            U32((uint)file.Smallest.Length);
            stream.Write(file.Smallest);
            U32((uint)file.Largest.Length);
            stream.Write(file.Largest);
        }

        var crc = Checksum.Crc32C(stream.GetBuffer().AsSpan(0, (int)stream.Length));
        U32(crc);
        return stream.ToArray();
    }

    public static Manifest Decode(byte[] data, string path)
    {
        if (data.Length < 44)
        {
            ThrowHelper.Corruption(path, 0, $"manifest is {data.Length} bytes, too short");
        }

        var bodyLength = data.Length - 4;
        var body = data;
        if (Checksum.Crc32C(data.AsSpan(0, bodyLength)) != BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(bodyLength)))
        {
            ThrowHelper.Corruption(path, data.Length - 4, "manifest checksum mismatch");
        }

        var at = 0;
        ulong U64(byte[] d)
        {
            if (at + 8 > bodyLength)
            {
                ThrowHelper.Corruption(path, at, "manifest cut short");
            }

            var v = BinaryPrimitives.ReadUInt64LittleEndian(d.AsSpan(at));
            at += 8;
            return v;
        }

        uint U32(byte[] d)
        {
            if (at + 4 > bodyLength)
            {
                ThrowHelper.Corruption(path, at, "manifest cut short");
            }

            var v = BinaryPrimitives.ReadUInt32LittleEndian(d.AsSpan(at));
            at += 4;
            return v;
        }

        byte[] Bytes(byte[] d, uint length)
        {
            if (length > (uint)(bodyLength - at))
            {
                ThrowHelper.Corruption(path, at, "manifest key length out of range");
            }

            var v = d.AsSpan(at, (int)length).ToArray();
            at += (int)length;
            return v;
        }

        if (U64(body) != Magic)
        {
            ThrowHelper.Corruption(path, 0, "not a RingKV manifest (bad magic)");
        }

        var version = U32(body);
        if (version != FormatVersion)
        {
            ThrowHelper.Corruption(path, 8, $"manifest format version {version} is not supported (expected {FormatVersion})");
        }

        var manifest = new Manifest
        {
            NextFileNumber = (long)U64(body),
            LogNumber = (long)U64(body),
            LastSequence = U64(body),
        };
        var count = U32(body);
        for (var i = 0; i < count; i++)
        {
            if (at >= bodyLength)
            {
                ThrowHelper.Corruption(path, at, "manifest cut short");
            }

            int level = body[at++];
            if (level >= Version.LevelCount)
            {
                ThrowHelper.Corruption(path, at - 1, $"manifest names level {level}");
            }

            var number = (long)U64(body);
            var size = (long)U64(body);
            var minSeq = U64(body);
            var maxSeq = U64(body);
            var smallest = Bytes(body, U32(body));
            var largest = Bytes(body, U32(body));
            manifest.Files.Add((level, new FileMeta(number, size, smallest, largest, minSeq, maxSeq)));
        }

        return manifest;
    }

    /// <summary>Writes the manifest atomically: temp file, fsync, rename, directory fsync.</summary>
    public void Write(IFileSystem fs, string directory)
    {
        var temp = Path.Combine(directory, FileNames.ManifestTemp);
        using (var file = fs.Create(temp))
        {
            file.Append(Encode());
            file.Sync();
        }

        fs.Rename(temp, Path.Combine(directory, FileNames.Manifest));
        fs.SyncDirectory(directory);
    }

    /// <summary>Reads the manifest, or null when the directory has none.</summary>
    public static Manifest? Read(IFileSystem fs, string directory)
    {
        var path = Path.Combine(directory, FileNames.Manifest);
        if (!fs.Exists(path))
        {
            return null;
        }

        using var file = fs.OpenRead(path);
        var data = new byte[file.Length];
        if (file.Read(0, data) != data.Length)
        {
            ThrowHelper.Corruption(path, 0, "manifest cut short");
        }

        return Decode(data, path);
    }
}
