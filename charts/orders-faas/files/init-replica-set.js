// Idempotent: initiates the replica set once, then creates the application user once.
const members = JSON.parse(process.env.RS_MEMBERS);
const initiated = () => {
  try { rs.status(); return true; } catch (e) {
    if (e.codeName === "NotYetInitialized") return false;
    throw e;
  }
};
if (!initiated()) {
  rs.initiate({ _id: process.env.RS_NAME, members: members.map((host, i) => ({ _id: i, host })) });
}
const deadline = Date.now() + 120000;
while (!db.hello().isWritablePrimary) {
  if (Date.now() > deadline) throw new Error("no primary within 120 s");
  sleep(1000);
}
const appDb = db.getSiblingDB(process.env.APP_DB);
if (!appDb.getUser(process.env.APP_USER)) {
  appDb.createUser({
    user: process.env.APP_USER,
    pwd: process.env.APP_PASSWORD,
    roles: [{ role: "readWrite", db: process.env.APP_DB }],
  });
}
print("replica set " + process.env.RS_NAME + " and user " + process.env.APP_USER + " ready");
