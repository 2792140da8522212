import { queryOptions } from "@tanstack/react-query";
import { ApiError, fetchSession } from "@/lib/api";

/** The operator session: one query key and fetcher for the whole operations view. */
export const sessionQuery = queryOptions({ queryKey: ["session"], queryFn: fetchSession, staleTime: 30_000 });

/** Whether an operator call was refused because the session is gone (expired, signed out, password changed). */
export function isSignedOut(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}
