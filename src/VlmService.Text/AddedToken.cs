namespace VlmService.Text;

internal sealed record AddedToken(int Id, string Content, bool Special, bool LeftStrip, bool RightStrip, bool Normalized);
