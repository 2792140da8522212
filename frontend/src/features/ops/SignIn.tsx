import { useMutation, useQueryClient } from "@tanstack/react-query";
import { LockKeyhole } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { ApiError, sessionQuery, signIn } from "@/lib/api";

function problem(error: unknown): string | null {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 401) return "Wrong password.";
  if (error instanceof ApiError && error.status === 429) return `Too many failed attempts: ${error.message}.`;
  return error instanceof Error ? error.message : "Sign-in failed.";
}

/** The operations view's sign-in: the admin password is exchanged for a session cookie. */
export function SignIn({ expired = false }: { expired?: boolean }) {
  const queryClient = useQueryClient();
  const [password, setPassword] = useState("");
  const attempt = useMutation({
    mutationFn: signIn,
    onSuccess: (session) => {
      setPassword("");
      queryClient.setQueryData(sessionQuery.queryKey, session);
    },
  });
  const message = problem(attempt.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (password) attempt.mutate(password);
  };
  return (
    <div className="mx-auto max-w-sm space-y-4 py-8">
      <h1 className="text-2xl font-bold tracking-tight">Operations</h1>
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <LockKeyhole className="size-4" aria-hidden="true" /> Sign in
          </CardTitle>
          <CardDescription>
            {expired ? "Your session ended. " : ""}The operations view shows every order: sign in with the gateway's admin
            password.
          </CardDescription>
        </CardHeader>
        <CardContent>
          <form onSubmit={submit} className="space-y-3" aria-label="Sign in">
            <div className="space-y-1.5">
              <Label htmlFor="admin-password">Admin password</Label>
              <Input
                id="admin-password"
                type="password"
                autoComplete="current-password"
                autoFocus
                value={password}
                aria-invalid={message ? true : undefined}
                aria-describedby={message ? "sign-in-error" : undefined}
                onChange={(e) => setPassword(e.target.value)}
              />
              {message && (
                <p id="sign-in-error" role="alert" className="text-sm font-medium text-destructive">
                  {message}
                </p>
              )}
            </div>
            <Button type="submit" className="w-full" disabled={!password || attempt.isPending}>
              {attempt.isPending ? "Signing in…" : "Sign in"}
            </Button>
          </form>
        </CardContent>
      </Card>
    </div>
  );
}
