import { ApiError } from "@/lib/api";

/** Whether an operator call was refused because the session is gone (expired, signed out, password changed). */
export function isSignedOut(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401;
}
