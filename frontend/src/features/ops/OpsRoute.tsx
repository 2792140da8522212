import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { LogOut } from "lucide-react";
import { useEffect, useRef } from "react";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { operatorQueryKey, sessionQuery, signOut } from "@/lib/api";
import { OpsPage } from "./OpsPage";
import { isSignedOut } from "./session";
import { SignIn } from "./SignIn";

/** Ask for the session again whenever an operator call is refused for want of one. */
function useSignedOutWatch() {
  const queryClient = useQueryClient();
  useEffect(() => {
    const recheck = (error: unknown) => {
      if (isSignedOut(error)) void queryClient.invalidateQueries({ queryKey: sessionQuery.queryKey });
    };
    const queries = queryClient.getQueryCache().subscribe((event) => {
      if (event.type === "updated" && event.query.queryKey[0] !== sessionQuery.queryKey[0]) recheck(event.query.state.error);
    });
    const mutations = queryClient.getMutationCache().subscribe((event) => {
      if (event.type === "updated") recheck(event.mutation?.state.error);
    });
    return () => {
      queries();
      mutations();
    };
  }, [queryClient]);
}

/** `/ops`: the sign-in form until the browser holds an operator session, then the operations view. */
export function OpsRoute() {
  const queryClient = useQueryClient();
  const session = useQuery(sessionQuery);
  const wasSignedIn = useRef(false);
  useSignedOutWatch();
  const leave = useMutation({
    mutationFn: signOut,
    onSuccess: (state) => {
      wasSignedIn.current = false;
      queryClient.setQueryData(sessionQuery.queryKey, state);
      // What an operator saw stays with the session.
      queryClient.removeQueries({ queryKey: operatorQueryKey });
    },
  });

  if (session.isPending) return <Skeleton className="h-40" />;
  if (session.isError) {
    return (
      <Alert variant="destructive">
        <AlertTitle>The operations view is unavailable</AlertTitle>
        <AlertDescription>{session.error.message}</AlertDescription>
      </Alert>
    );
  }
  if (!session.data.signed_in) return <SignIn expired={wasSignedIn.current} />;
  wasSignedIn.current = true;
  return (
    <div className="space-y-2">
      <div className="flex justify-end">
        <Button variant="outline" size="sm" onClick={() => leave.mutate()} disabled={leave.isPending}>
          <LogOut aria-hidden="true" /> Sign out
        </Button>
      </div>
      <OpsPage />
    </div>
  );
}
