using System.Text;

namespace VlmService.Text;

/// <summary>GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE.</summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    private static char[] Build()
    {
        var map = new char[256];
        var printable = new bool[256];
        for (int b = '!'; b <= '~'; b++)
        {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++)
        {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++)
        {
            printable[b] = true;
        }
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            map[b] = printable[b] ? (char)b : (char)next++;
        }
        return map;
    }

    public static char Encode(byte b) => ByteToChar[b];

    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }
        return new string(chars);
    }

    /// <summary>Maps characters back to bytes; characters outside the alphabet are kept as their UTF-8.</summary>
    public static byte[] DecodeToBytes(string text)
    {
        var bytes = new List<byte>(text.Length);
        foreach (char c in text)
        {
            if (CharToByte.TryGetValue(c, out byte b))
            {
                bytes.Add(b);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            }
        }
        return [.. bytes];
    }

    public static IReadOnlyList<char> All => ByteToChar;
}
