using System.Collections.Concurrent;

namespace VlmService.Engine.Models;

/// <summary>The models being served, the folders that failed, and whether loading has finished.</summary>
public sealed class ModelRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ILoadedModel> _models = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<ModelLoadFailure> _failures = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<ILoadedModel> Models => _models.Values.OrderBy(m => m.Id, StringComparer.Ordinal).ToList();

    public IReadOnlyList<ModelLoadFailure> Failures => _failures.OrderBy(f => f.Id, StringComparer.Ordinal).ToList();

    public bool IsReady => _ready.Task.IsCompleted;

    /// <summary>Completes once every folder was loaded (or failed) and warmed.</summary>
    public Task WhenReady => _ready.Task;

    internal void Add(ILoadedModel model) => _models[model.Id] = model;

    internal void AddFailure(ModelLoadFailure failure) => _failures.Add(failure);

    internal void MarkReady() => _ready.TrySetResult();

    /// <summary>The named model, or the first (by id) that can do <paramref name="capability"/>.</summary>
    public ILoadedModel Resolve(string? id, string capability)
    {
        if (string.IsNullOrEmpty(id))
        {
            return Models.FirstOrDefault(m => m.Capabilities.Contains(capability))
                ?? throw new ModelNotFoundException($"No loaded model supports '{capability}'.");
        }
        if (!_models.TryGetValue(id, out ILoadedModel? model))
        {
            ModelLoadFailure? failure = _failures.FirstOrDefault(f => f.Id == id);
            throw new ModelNotFoundException(failure is null
                ? $"Model '{id}' is not loaded. Loaded models: {string.Join(", ", _models.Keys.Order(StringComparer.Ordinal))}."
                : $"Model '{id}' failed to load: {failure.Reason}");
        }
        if (!model.Capabilities.Contains(capability))
        {
            throw new CapabilityNotSupportedException($"Model '{id}' ({model.Family}) does not support '{capability}'; it supports {string.Join(", ", model.Capabilities)}.");
        }
        return model;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ILoadedModel model in _models.Values)
        {
            await model.DisposeAsync().ConfigureAwait(false);
        }
        _models.Clear();
    }
}

public sealed class ModelNotFoundException : Exception
{
    public ModelNotFoundException(string message) : base(message) { }

    public ModelNotFoundException() : base("Model not found") { }

    public ModelNotFoundException(string message, Exception innerException) : base(message, innerException) { }
}

public sealed class CapabilityNotSupportedException : Exception
{
    public CapabilityNotSupportedException(string message) : base(message) { }

    public CapabilityNotSupportedException() : base("Capability not supported") { }

    public CapabilityNotSupportedException(string message, Exception innerException) : base(message, innerException) { }
}
