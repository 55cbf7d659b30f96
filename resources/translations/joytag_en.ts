<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>DetailsPanel</name>
    <message numerus="yes">
        <source>%Ln image(s) (tag edits apply to all)</source>
        <translation>
            <numerusform>%Ln image (tag edits apply to it)</numerusform>
            <numerusform>%Ln images (tag edits apply to all)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>DuplicatesDialog</name>
    <message numerus="yes">
        <source> (the first %Ln shown)</source>
        <translation>
            <numerusform> (the first %Ln shown)</numerusform>
            <numerusform> (the first %Ln shown)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{groups}{shown}. %Ln copies ({mb} MB) are ticked for the trash.</source>
        <translation>
            <numerusform>{groups}{shown}. %Ln copy ({mb} MB) is ticked for the trash.</numerusform>
            <numerusform>{groups}{shown}. %Ln copies ({mb} MB) are ticked for the trash.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln group(s)</source>
        <translation>
            <numerusform>%Ln group</numerusform>
            <numerusform>%Ln groups</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Move %Ln copies ({mb} MB) to the system trash? They can be restored from there; the library forgets them. Each is checked again first: one changed since the last scan stays.</source>
        <translation>
            <numerusform>Move %Ln copy ({mb} MB) to the system trash? It can be restored from there; the library forgets it. It is checked again first: if it changed since the last scan, it stays.</numerusform>
            <numerusform>Move %Ln copies ({mb} MB) to the system trash? They can be restored from there; the library forgets them. Each is checked again first: one changed since the last scan stays.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Moved %Ln copies to the trash.</source>
        <translation>
            <numerusform>Moved %Ln copy to the trash.</numerusform>
            <numerusform>Moved %Ln copies to the trash.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln left in place (first: {path}: {reason}).</source>
        <translation>
            <numerusform>%Ln left in place ({path}: {reason}).</numerusform>
            <numerusform>%Ln left in place (first: {path}: {reason}).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln could not be moved (first: {path}: {reason}).</source>
        <translation>
            <numerusform>%Ln could not be moved ({path}: {reason}).</numerusform>
            <numerusform>%Ln could not be moved (first: {path}: {reason}).</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Exports</name>
    <message numerus="yes">
        <source>Write keywords into %Ln image file(s)? Only the metadata changes, never the pixels.</source>
        <translation>
            <numerusform>Write keywords into %Ln image file? Only the metadata changes, never the pixels.</numerusform>
            <numerusform>Write keywords into %Ln image files? Only the metadata changes, never the pixels.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Exported %Ln image(s) to {name}</source>
        <translation>
            <numerusform>Exported %Ln image to {name}</numerusform>
            <numerusform>Exported %Ln images to {name}</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LongWork</name>
    <message numerus="yes">
        <source>(%Ln more waiting)</source>
        <translation>
            <numerusform>(%Ln more waiting)</numerusform>
            <numerusform>(%Ln more waiting)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message numerus="yes">
        <source>%Ln more wait(s) after it.</source>
        <translation>
            <numerusform>%Ln more waits after it.</numerusform>
            <numerusform>%Ln more wait after it.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MarkingController</name>
    <message numerus="yes">
        <source>%Ln image(s) → {value}</source>
        <translation>
            <numerusform>%Ln image → {value}</numerusform>
            <numerusform>%Ln images → {value}</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ModelChoice</name>
    <message numerus="yes">
        <source>Tag the %Ln image(s) already in the library with {model} now?</source>
        <translation>
            <numerusform>Tag the %Ln image already in the library with {model} now?</numerusform>
            <numerusform>Tag the %Ln images already in the library with {model} now?</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message numerus="yes">
        <source>%n tag(s)</source>
        <translation>
            <numerusform>%n tag</numerusform>
            <numerusform>%n tags</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n cap(s)</source>
        <translation>
            <numerusform>%n cap</numerusform>
            <numerusform>%n caps</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>OtherWorkers</name>
    <message numerus="yes">
        <source>%Ln other worker(s) tagging, {rate} images/s</source>
        <translation>
            <numerusform>%Ln other worker tagging, {rate} images/s</numerusform>
            <numerusform>%Ln other workers tagging, {rate} images/s</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln other worker(s) idle</source>
        <translation>
            <numerusform>%Ln other worker idle</numerusform>
            <numerusform>%Ln other workers idle</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Reports</name>
    <message numerus="yes">
        <source>CPU (%Ln thread(s))</source>
        <translation>
            <numerusform>CPU (%Ln thread)</numerusform>
            <numerusform>CPU (%Ln threads)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>batch %Ln</source>
        <translation>
            <numerusform>batch %Ln</numerusform>
            <numerusform>batch %Ln</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln new</source>
        <translation>
            <numerusform>%Ln new</numerusform>
            <numerusform>%Ln new</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln changed</source>
        <translation>
            <numerusform>%Ln changed</numerusform>
            <numerusform>%Ln changed</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln moved</source>
        <translation>
            <numerusform>%Ln moved</numerusform>
            <numerusform>%Ln moved</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln missing</source>
        <translation>
            <numerusform>%Ln missing</numerusform>
            <numerusform>%Ln missing</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln unchanged</source>
        <translation>
            <numerusform>%Ln unchanged</numerusform>
            <numerusform>%Ln unchanged</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln back</source>
        <translation>
            <numerusform>%Ln back</numerusform>
            <numerusform>%Ln back</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>keywords changed on %Ln image(s)</source>
        <translation>
            <numerusform>keywords changed on %Ln image</numerusform>
            <numerusform>keywords changed on %Ln images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln unreadable</source>
        <translation>
            <numerusform>%Ln unreadable</numerusform>
            <numerusform>%Ln unreadable</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln folder(s) offline</source>
        <translation>
            <numerusform>%Ln folder offline</numerusform>
            <numerusform>%Ln folders offline</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln written</source>
        <translation>
            <numerusform>%Ln written</numerusform>
            <numerusform>%Ln written</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln skipped</source>
        <translation>
            <numerusform>%Ln skipped</numerusform>
            <numerusform>%Ln skipped</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln failed</source>
        <translation>
            <numerusform>%Ln failed</numerusform>
            <numerusform>%Ln failed</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ResultsPanel</name>
    <message numerus="yes">
        <source>%Ln image(s)</source>
        <translation>
            <numerusform>%Ln image</numerusform>
            <numerusform>%Ln images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Still showing the previous results (%Ln image(s))</source>
        <translation>
            <numerusform>Still showing the previous results (%Ln image)</numerusform>
            <numerusform>Still showing the previous results (%Ln images)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RotationController</name>
    <message numerus="yes">
        <source>{turn}: %Ln image(s)</source>
        <translation>
            <numerusform>{turn}: %Ln image</numerusform>
            <numerusform>{turn}: %Ln images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>(and %Ln more)</source>
        <translation>
            <numerusform>(and %Ln more)</numerusform>
            <numerusform>(and %Ln more)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Turned back %Ln image(s); they will be tagged again</source>
        <translation>
            <numerusform>Turned back %Ln image; it will be tagged again</numerusform>
            <numerusform>Turned back %Ln images; they will be tagged again</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Rotated %Ln image(s); they will be tagged again (Edit ▸ Undo turns them back)</source>
        <translation>
            <numerusform>Rotated %Ln image; it will be tagged again (Edit ▸ Undo turns it back)</numerusform>
            <numerusform>Rotated %Ln images; they will be tagged again (Edit ▸ Undo turns them back)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SafeViewNotice</name>
    <message numerus="yes">
        <source>Safe view leaves %Ln image(s) out of these results (View ▸ Safe view).</source>
        <translation>
            <numerusform>Safe view leaves %Ln image out of these results (View ▸ Safe view).</numerusform>
            <numerusform>Safe view leaves %Ln images out of these results (View ▸ Safe view).</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SelectionController</name>
    <message numerus="yes">
        <source>reset {tags} to the model on %Ln image(s)</source>
        <translation>
            <numerusform>reset {tags} to the model on %Ln image</numerusform>
            <numerusform>reset {tags} to the model on %Ln images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>add {tags} to %Ln image(s)</source>
        <translation>
            <numerusform>add {tags} to %Ln image</numerusform>
            <numerusform>add {tags} to %Ln images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>remove {tags} from %Ln image(s)</source>
        <translation>
            <numerusform>remove {tags} from %Ln image</numerusform>
            <numerusform>remove {tags} from %Ln images</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>rating of %Ln image(s) → {rating}</source>
        <translation>
            <numerusform>rating of %Ln image → {rating}</numerusform>
            <numerusform>rating of %Ln images → {rating}</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>rating of %Ln image(s) → from the models</source>
        <translation>
            <numerusform>rating of %Ln image → from the models</numerusform>
            <numerusform>rating of %Ln images → from the models</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>retag %Ln image(s)</source>
        <translation>
            <numerusform>retag %Ln image</numerusform>
            <numerusform>retag %Ln images</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SlideshowMenu</name>
    <message numerus="yes">
        <source>Every %n second(s)</source>
        <translation>
            <numerusform>Every %n second</numerusform>
            <numerusform>Every %n seconds</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>TagListPanel</name>
    <message numerus="yes">
        <source>&lt;b&gt;Tags in the results&lt;/b&gt; (%Ln image(s))</source>
        <translation>
            <numerusform>&lt;b&gt;Tags in the results&lt;/b&gt; (%Ln image)</numerusform>
            <numerusform>&lt;b&gt;Tags in the results&lt;/b&gt; (%Ln images)</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>VocabularyController</name>
    <message numerus="yes">
        <source>add {tags} to %Ln image(s)</source>
        <translation>
            <numerusform>add {tags} to %Ln image</numerusform>
            <numerusform>add {tags} to %Ln images</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>VocabularyWindow</name>
    <message numerus="yes">
        <source>%Ln alias(es)</source>
        <translation>
            <numerusform>%Ln alias</numerusform>
            <numerusform>%Ln aliases</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln implication(s)</source>
        <translation>
            <numerusform>%Ln implication</numerusform>
            <numerusform>%Ln implications</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>remove %n alias(es) or implication(s)</source>
        <translation>
            <numerusform>remove %n alias or implication</numerusform>
            <numerusform>remove %n aliases or implications</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{file}: %n alias(es) or implication(s) removed</source>
        <translation>
            <numerusform>{file}: %n alias or implication removed</numerusform>
            <numerusform>{file}: %n aliases or implications removed</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{file}: %n row(s) written</source>
        <translation>
            <numerusform>{file}: %n row written</numerusform>
            <numerusform>{file}: %n rows written</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>WorkStatus</name>
    <message numerus="yes">
        <source>Scanning {folder}: %Ln file(s)…</source>
        <translation>
            <numerusform>Scanning {folder}: %Ln file…</numerusform>
            <numerusform>Scanning {folder}: %Ln files…</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>&lt;a href=&apos;status:error&apos;&gt;%Ln could not be tagged&lt;/a&gt;</source>
        <translation>
            <numerusform>&lt;a href=&apos;status:error&apos;&gt;%Ln could not be tagged&lt;/a&gt;</numerusform>
            <numerusform>&lt;a href=&apos;status:error&apos;&gt;%Ln could not be tagged&lt;/a&gt;</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Tagging stopped: %Ln image(s) wait (press Resume to go on)</source>
        <translation>
            <numerusform>Tagging stopped: %Ln image waits (press Resume to go on)</numerusform>
            <numerusform>Tagging stopped: %Ln images wait (press Resume to go on)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Tagging paused: %Ln image(s) wait</source>
        <translation>
            <numerusform>Tagging paused: %Ln image waits</numerusform>
            <numerusform>Tagging paused: %Ln images wait</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln image(s) wait to be tagged</source>
        <translation>
            <numerusform>%Ln image waits to be tagged</numerusform>
            <numerusform>%Ln images wait to be tagged</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>_Plurals</name>
    <message numerus="yes">
        <source>%n star(s)</source>
        <translation>
            <numerusform>%n star</numerusform>
            <numerusform>%n stars</numerusform>
        </translation>
    </message>
</context>
</TS>
