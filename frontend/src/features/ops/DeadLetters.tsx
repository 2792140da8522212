import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { RotateCcw } from "lucide-react";
import { type FormEvent, memo, useState } from "react";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { Skeleton } from "@/components/ui/skeleton";
import { ApiError, deadLettersQuery, operatorQueryKey, replayDeadLetter } from "@/lib/api";
import { formatTime } from "@/lib/format";
import type { DeadLetter } from "@/lib/schemas";

function ReplayDialog({
  letter,
  onClose,
  onReplayed,
}: {
  letter: DeadLetter | null;
  onClose: () => void;
  onReplayed: (message: string) => void;
}) {
  const replay = useMutation({
    mutationFn: (id: string) => replayDeadLetter(id),
    onSuccess: (result) =>
      onReplayed(
        result.new_id
          ? `Replayed ${result.replayed} as ${result.new_id}`
          : `Not replayed ${result.replayed}: ${result.skipped ?? "outdated"}`,
      ),
  });
  const error = replay.error instanceof ApiError ? replay.error : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (letter) replay.mutate(letter.id);
  };
  const close = () => {
    replay.reset();
    onClose();
  };
  return (
    <Dialog
      open={letter !== null}
      onOpenChange={(open) => !open && close()}
      title="Replay dead letter"
      description={
        letter
          ? `${letter.type}${letter.order_id ? ` for order ${letter.order_id}` : ""}, failed in ${letter.function}`
          : undefined
      }
    >
      <form onSubmit={submit} className="space-y-3">
        <p className="text-sm text-muted-foreground">The event goes back on the saga stream and the letter is removed.</p>
        {error && (
          <p id="replay-error" role="alert" className="text-sm font-medium text-destructive">
            {error.status === 401 ? "Your session ended: sign in again." : error.message}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button variant="outline" onClick={close}>
            Cancel
          </Button>
          <Button type="submit" autoFocus disabled={replay.isPending}>
            {replay.isPending ? "Replaying…" : "Replay"}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Events the connector gave up on, each with a replay button (the operator's session is the credential). */
export const DeadLetters = memo(function DeadLetters() {
  const queryClient = useQueryClient();
  const letters = useQuery({ ...deadLettersQuery, refetchInterval: 10_000 });
  const [selected, setSelected] = useState<DeadLetter | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  return (
    <div>
      <p role="status" aria-live="polite" className="sr-only">
        {notice}
      </p>
      {notice && (
        <Alert variant="success" className="mb-3">
          <AlertDescription>{notice}</AlertDescription>
        </Alert>
      )}
      {letters.isPending ? (
        <Skeleton className="h-20" />
      ) : letters.isError ? (
        <p className="text-sm text-destructive">Dead letters unavailable: {letters.error.message}</p>
      ) : letters.data.length === 0 ? (
        <p className="py-4 text-center text-sm text-muted-foreground">No dead letters. Every event was handled.</p>
      ) : (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Dead letters</caption>
            <thead className="text-xs text-muted-foreground">
              <tr>
                <th scope="col" className="py-1 pr-3 font-medium">Event</th>
                <th scope="col" className="py-1 pr-3 font-medium">Function</th>
                <th scope="col" className="py-1 pr-3 font-medium">Reason</th>
                <th scope="col" className="py-1 pr-3 font-medium">Failed</th>
                <th scope="col" className="py-1 font-medium"><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className="divide-y">
              {letters.data.map((letter) => (
                <tr key={letter.id}>
                  <td className="py-2 pr-3">
                    <div className="font-medium">{letter.type}</div>
                    <div className="font-mono text-xs text-muted-foreground">{letter.order_id.slice(0, 12) || "—"}</div>
                  </td>
                  <td className="py-2 pr-3">{letter.function}</td>
                  <td className="py-2 pr-3">
                    {letter.reason}
                    {letter.status_code ? <span className="text-muted-foreground"> ({letter.status_code})</span> : null}
                    {letter.deliveries ? <span className="text-muted-foreground"> · {letter.deliveries}×</span> : null}
                  </td>
                  <td className="py-2 pr-3 tabular-nums">{formatTime(letter.failed_at)}</td>
                  <td className="py-2 text-right">
                    <Button
                      size="sm"
                      variant="outline"
                      aria-label={`Replay ${letter.type} for order ${letter.order_id || letter.id}`}
                      onClick={() => {
                        setNotice(null);
                        setSelected(letter);
                      }}
                    >
                      <RotateCcw aria-hidden="true" /> Replay
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ReplayDialog
        letter={selected}
        onClose={() => setSelected(null)}
        onReplayed={(message) => {
          setSelected(null);
          setNotice(message);
          // The list and the summary's dead-letter count.
          void queryClient.invalidateQueries({ queryKey: operatorQueryKey });
        }}
      />
    </div>
  );
});
