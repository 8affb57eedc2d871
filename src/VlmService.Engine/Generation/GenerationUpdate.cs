namespace VlmService.Engine.Generation;

/// <summary>One piece of output: new text, and on the last update the finish reason and the count of new tokens.</summary>
public sealed record GenerationUpdate(string Delta, string? FinishReason, int CompletionTokens);
